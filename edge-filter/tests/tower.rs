//! The tower layer: every check, and bodies handed on intact.

use std::convert::Infallible;

use bytes::Bytes;
use edge_filter::routes::{Param, Route, Routes};
use edge_filter::tower::RequestFilterLayer;
use edge_filter::{Filter, Rejection};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

fn service()
-> impl tower::Service<Request<Full<Bytes>>, Response = Response<String>, Error = Infallible> + Clone
{
    let routes = Routes::new()
        .route(Route::new("GET", "/items/{id}").unwrap().param(Param::path("id").integer(1, 1000)))
        .route(
            Route::new("POST", "/items")
                .unwrap()
                .schema(&json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}))
                .unwrap(),
        );
    ServiceBuilder::new()
        .layer(RequestFilterLayer::new(
            Filter::builder()
                .max_body(1024)
                .routes(routes)
                .build()
                .unwrap(),
        ))
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(String::from_utf8_lossy(&body).into_owned()))
        })
}

fn post(body: &str, content_type: &str) -> Request<Full<Bytes>> {
    Request::post("/items")
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn status(request: Request<Full<Bytes>>) -> (StatusCode, Response<String>) {
    let response = service().oneshot(request).await.unwrap();
    (response.status(), response)
}

#[tokio::test]
async fn every_check_answers_with_its_status() {
    let (ok, response) = status(post(r#"{"name":"O'Brien"}"#, "application/json")).await;
    assert_eq!(ok, StatusCode::OK);
    assert_eq!(
        response.body(),
        r#"{"name":"O'Brien"}"#,
        "the body reaches the handler intact"
    );

    let get = |uri: &str| Request::get(uri).body(Full::new(Bytes::new())).unwrap();
    assert_eq!(
        status(get("/items?q=%3Cscript%3E")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(get("/items/0")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(status(get("/items/7")).await.0, StatusCode::OK);
    assert_eq!(
        status(post(&"x".repeat(2000), "application/json")).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        status(post(r#"{"name":"n"}"#, "text/plain")).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        status(post(r#"{"name":"#, "application/json")).await.0,
        StatusCode::BAD_REQUEST
    );
    let (code, response) = status(post(r#"{"name":5}"#, "application/json")).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["errors"][0]["field"], "/name");
    assert!(response.extensions().get::<Rejection>().is_some());
    let (blocked, _) = status(post(
        r#"{"name":"x","a":{"b":"1 UNION SELECT password"}}"#,
        "application/json",
    ))
    .await;
    assert_eq!(blocked, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn header_limits_and_required_or_forbidden_headers() {
    let filter = Filter::builder()
        .header_limits(5, 200)
        .require_header("x-api-version")
        .forbid_header("x-debug")
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(RequestFilterLayer::new(filter))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let request = |headers: &[(&str, String)]| {
        let mut builder = Request::get("/");
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        builder.body(Full::new(Bytes::new())).unwrap()
    };
    let ok = service
        .clone()
        .oneshot(request(&[("x-api-version", "1".into())]))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let missing = service.clone().oneshot(request(&[])).await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let forbidden = service
        .clone()
        .oneshot(request(&[
            ("x-api-version", "1".into()),
            ("x-debug", "1".into()),
        ]))
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::BAD_REQUEST);
    let many: Vec<(&str, String)> = ["a", "b", "c", "d", "e", "x-api-version"]
        .iter()
        .map(|n| (*n, "1".to_owned()))
        .collect();
    assert_eq!(
        service
            .clone()
            .oneshot(request(&many))
            .await
            .unwrap()
            .status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let big = service
        .clone()
        .oneshot(request(&[
            ("x-api-version", "1".into()),
            ("x-big", "v".repeat(300)),
        ]))
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

/// An axum app behind the filter, served over cleartext HTTP/2 on loopback.
async fn http2_app() -> std::net::SocketAddr {
    let routes = Routes::new().route(
        Route::new("POST", "/items")
            .unwrap()
            .schema(&json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}))
            .unwrap(),
    );
    let app = axum::Router::new()
        .route(
            "/items",
            axum::routing::post(|body: String| async move { body }),
        )
        .layer(RequestFilterLayer::new(
            Filter::builder()
                .max_body(1024)
                .routes(routes)
                .build()
                .unwrap(),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// POST `chunks` over HTTP/2 as a stream: no `content-length`, no
/// `transfer-encoding` (HTTP/2 has none); the status and body of the answer.
async fn post_h2_stream(address: std::net::SocketAddr, chunks: Vec<Vec<u8>>) -> (u16, String) {
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let frames = chunks
        .into_iter()
        .map(|chunk| Ok::<_, Infallible>(Frame::data(Bytes::from(chunk))));
    let request = Request::post(format!("http://{address}/items"))
        .header("content-type", "application/json")
        .body(StreamBody::new(futures_util::stream::iter(frames)))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn an_http2_body_without_length_headers_is_still_limited_and_inspected() {
    let address = http2_app().await;
    let (status, body) = post_h2_stream(address, vec![br#"{"name": "widget"}"#.to_vec()]).await;
    assert_eq!((status, body.as_str()), (200, r#"{"name": "widget"}"#));
    // Over the size limit, in chunks: 413.
    let (status, _) = post_h2_stream(address, vec![vec![b' '; 700], vec![b' '; 700]]).await;
    assert_eq!(status, 413);
    // An attack in the body: 403.
    let attack = br#"{"name": "<script>alert(1)</script>"}"#.to_vec();
    assert_eq!(post_h2_stream(address, vec![attack]).await.0, 403);
    // The route's schema: 422.
    assert_eq!(post_h2_stream(address, vec![b"{}".to_vec()]).await.0, 422);
}
