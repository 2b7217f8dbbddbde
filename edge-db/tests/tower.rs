//! The tower layer counts a request's queries.

mod common;

use std::convert::Infallible;

use edge_db::QueryCount;
use edge_db::tower::QueryCounterLayer;
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::test]
async fn counts_the_queries_of_each_request() {
    let (db, _) = common::migrated_db(2).await;
    let service = ServiceBuilder::new()
        .layer(QueryCounterLayer::new())
        .service_fn(move |req: Request<u32>| {
            let db = db.clone();
            async move {
                let conn = db.conn().await.unwrap();
                for _ in 0..*req.body() {
                    conn.execute("SELECT 1", &[]).await.unwrap();
                }
                let seen = req.extensions().get::<QueryCount>().unwrap().get();
                Ok::<_, Infallible>(Response::new(seen))
            }
        });
    use tracing::Instrument;
    let fields = edge_test_support::spans::RecordedFields::default();
    let _guard = tracing::subscriber::set_default(fields.subscriber());
    for n in [0, 3] {
        let span = tracing::info_span!("request", db_queries = tracing::field::Empty);
        let response = service
            .clone()
            .oneshot(Request::new(n))
            .instrument(span)
            .await
            .unwrap();
        assert_eq!(
            fields.get(edge_db::SPAN_FIELD),
            Some(n.to_string()),
            "recorded in the span"
        );
        assert_eq!(
            *response.body() as u32,
            n,
            "the handler saw its own queries"
        );
        assert_eq!(
            response.extensions().get::<QueryCount>().unwrap().get(),
            u64::from(n)
        );
    }
}
