//! OpenAPI links: which answer feeds which next request, so that stateful
//! testing and client generators follow the API's real flows.

use serde_json::{Value, json};

/// A resource's id from the answer's body, for the operations on one resource.
fn resource_links() -> Value {
    let id = json!({"id": "$response.body#/id"});
    json!({
        "GetResource": {"operationId": "getResource", "parameters": id},
        "ReplaceResource": {"operationId": "replaceResource", "parameters": id},
        "DeleteResource": {"operationId": "deleteResource", "parameters": id},
        "GetAuditTrail": {"operationId": "getAuditTrail", "parameters": id,
            "description": "The trail stays readable after a delete, on purpose: it is an audit log"},
    })
}

/// A token pair's refresh token, for refreshing or ending the session.
fn session_links() -> Value {
    let body = json!({"refresh_token": "$response.body#/refresh_token"});
    json!({
        "Refresh": {"operationId": "refresh", "requestBody": body},
        "Logout": {"operationId": "logout", "requestBody": body},
    })
}

/// The links of an operation's answers, by status.
pub(super) fn of(operation_id: &str) -> Vec<(&'static str, Value)> {
    match operation_id {
        "createResource" => vec![("201", resource_links())],
        "getResource" | "replaceResource" => vec![("200", resource_links())],
        "register" => vec![(
            "201",
            json!({"Login": {"operationId": "login", "requestBody": {
                "username": "$request.body#/username", "password": "$request.body#/password"}}}),
        )],
        "login" | "refresh" => vec![("200", session_links())],
        _ => Vec::new(),
    }
}
