//! The actix-web middleware counts a request's queries.

mod common;

use actix_web::{App, HttpResponse, test, web};
use edge_db::actix::QueryCounter;
use edge_db::{Db, QueryCount};

async fn three_queries(db: web::Data<Db>) -> HttpResponse {
    let conn = db.conn().await.unwrap();
    for _ in 0..3 {
        conn.execute("SELECT 1", &[]).await.unwrap();
    }
    HttpResponse::Ok().finish()
}

#[actix_rt::test]
async fn counts_the_queries_of_each_request() {
    let (db, _) = common::migrated_db(2).await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(db))
            .wrap(QueryCounter::new())
            .route("/", web::get().to(three_queries))
            .route("/none", web::get().to(HttpResponse::Ok)),
    )
    .await;
    for (path, expected) in [("/", 3), ("/none", 0), ("/", 3)] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert!(response.status().is_success());
        let count = response
            .response()
            .extensions()
            .get::<QueryCount>()
            .unwrap()
            .get();
        assert_eq!(count, expected, "{path}");
    }
}
