//! The validator every test uses: issuer `edge`, the shared test secret, 5 s leeway,
//! `/public` and below open. Tokens come from `edge_test_support::jwt`.

pub(crate) fn validator(clock: edge_auth::ManualClock) -> edge_auth::Validator {
    edge_auth::Validator::builder("edge")
        .hmac_secret(edge_test_support::jwt::SECRET)
        .leeway(std::time::Duration::from_secs(5))
        .clock(clock)
        .public("/public")
        .public("/public/{*rest}")
        .build()
        .unwrap()
}
