//! TLS as the URL asks for it, against a real PostgreSQL that accepts TLS
//! connections only (a self-signed certificate the harness makes): `require`
//! encrypts without checking the certificate, `verify-full` trusts only the
//! authorities it is given, plain text is refused by the server.

use edge_db::Db;
use edge_test_support::harness;

async fn select_one(url: &str) -> Result<i32, String> {
    let db = Db::builder(url).build().map_err(|e| e.to_string())?;
    let conn = db.conn().await.map_err(|e| e.to_string())?;
    let (one,): (i32,) = conn
        .query_one("SELECT 1", &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(one)
}

#[tokio::test]
async fn sslmodes_encrypt_and_verify_like_libpq() {
    let tls = harness::tls_postgres();
    let base = tls.server.url("postgres");
    let root = tls.certificate.display().to_string();

    assert_eq!(select_one(&format!("{base}?sslmode=require")).await, Ok(1));
    assert_eq!(select_one(&format!("{base}?sslmode=prefer")).await, Ok(1));
    assert_eq!(
        select_one(&format!("{base}?sslmode=verify-full&sslrootcert={root}")).await,
        Ok(1),
        "the server's certificate, trusted explicitly"
    );
    assert_eq!(
        select_one(&format!("{base}?sslmode=verify-ca&sslrootcert={root}")).await,
        Ok(1)
    );

    let untrusted = select_one(&format!("{base}?sslmode=verify-full")).await;
    assert!(
        untrusted.is_err(),
        "a self-signed certificate is not a webpki root"
    );
    let plain = select_one(&base).await;
    assert!(plain.is_err(), "the server accepts TLS connections only");
    let disabled = select_one(&format!("{base}?sslmode=disable")).await;
    assert!(disabled.is_err());
}

#[test]
fn a_bad_tls_setting_fails_the_build_with_a_clear_error() {
    let error = Db::builder("postgres://u@127.0.0.1/db?sslmode=sometimes")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("sslmode"), "{error}");
    let error = Db::builder("postgres://u@127.0.0.1/db?sslmode=verify-full&sslrootcert=/nope.pem")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("/nope.pem"), "{error}");
}
