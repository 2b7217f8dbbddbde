use std::collections::BTreeSet;

use super::*;

fn operations_of(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            found.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    found
}

fn operation<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    &document["paths"][path][method.to_ascii_lowercase()]
}

#[test]
fn the_document_has_one_operation_per_row_and_every_filtered_route_is_one() {
    let document = document().unwrap();
    let table: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|op| (op.method.to_string(), op.path.to_owned()))
        .collect();
    assert_eq!(operations_of(&document), table);
    let rules = operations::validation_routes().unwrap();
    let filtered: BTreeSet<(String, String)> = rules
        .iter()
        .map(|route| (route.method().to_owned(), route.pattern().to_owned()))
        .collect();
    assert!(!filtered.is_empty());
    // Every route the filter validates is an operation of the document...
    assert!(
        filtered.is_subset(&operations_of(&document)),
        "{filtered:?}"
    );
    // ...and every operation that takes parameters or a body is one the filter
    // validates.
    for (method, path) in operations_of(&document) {
        let op = operation(&document, &method, &path);
        let checked = op["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["in"] != "header"))
            || op.get("requestBody").is_some();
        assert_eq!(
            checked,
            filtered.contains(&(method.clone(), path.clone())),
            "{method} {path}"
        );
    }
}

#[test]
fn the_document_holds_the_filters_schemas_and_parameter_rules_byte_for_byte() {
    let document = document().unwrap();
    let rules = operations::validation_routes().unwrap();
    let mut bodies = 0;
    for route in rules.iter() {
        let op = operation(&document, route.method(), route.pattern());
        if let Some(schema) = route.json_schema() {
            bodies += 1;
            let published = &op["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(
                serde_json::to_string(published).unwrap(),
                serde_json::to_string(schema).unwrap(),
                "{} {}",
                route.method(),
                route.pattern()
            );
            assert_eq!(op["requestBody"]["required"], true);
        }
        let published: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] != "header")
            .map(|p| serde_json::to_string(p).unwrap())
            .collect();
        let enforced: Vec<String> = route
            .params()
            .iter()
            .map(|p| serde_json::to_string(&p.openapi()).unwrap())
            .collect();
        assert_eq!(
            published,
            enforced,
            "{} {}",
            route.method(),
            route.pattern()
        );
    }
    assert_eq!(
        bodies, 7,
        "register, login, refresh, logout, create, replace, changeSettings"
    );
    // The rules the server enforces are the ones stated, e.g. the id's range.
    let id = &operation(&document, "GET", "/api/resources/{id}")["parameters"][0];
    assert_eq!(id["schema"]["minimum"], 1);
    assert_eq!(id["schema"]["maximum"], i64::MAX);
    let register = &operation(&document, "POST", "/api/auth/register")["requestBody"];
    let schema = &register["content"]["application/json"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["properties"]["username"]["pattern"],
        "^[A-Za-z0-9_.-]+$"
    );
}

#[test]
fn every_operation_lists_its_problems_as_problem_json_with_their_headers() {
    let document = document().unwrap();
    for op in OPERATIONS {
        let responses = &operation(&document, op.method.as_str(), op.path)["responses"];
        for (status, codes) in problems::of(op) {
            let response = &responses[status.to_string()];
            if op.probe && status == 503 {
                continue;
            }
            if let Some(content) = response["content"].as_object().filter(|_| status >= 400) {
                // Health probes answer 503 with their report, not a problem.
                if content.contains_key("application/json") {
                    assert!(op.probe, "{} {status}", op.path);
                    continue;
                }
            }
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{} {} {status}",
                op.method,
                op.path
            );
            for code in codes {
                let description = response["description"].as_str().unwrap();
                assert!(description.contains(code.as_str()), "{description}");
            }
            assert!(response["headers"]["X-Request-Id"].is_object());
        }
        let security = &operation(&document, op.method.as_str(), op.path)["security"];
        assert_eq!(
            security.is_array(),
            op.access == Access::Bearer,
            "{}",
            op.path
        );
    }
    let create = &operation(&document, "POST", "/api/resources")["responses"];
    let statuses: Vec<&String> = create.as_object().unwrap().keys().collect();
    assert_eq!(
        statuses,
        [
            "201", "400", "401", "403", "408", "413", "415", "422", "429", "500", "503"
        ]
    );
    assert!(
        create["400"]["description"]
            .as_str()
            .unwrap()
            .contains("invalid_json")
    );
    assert!(create["429"]["headers"]["Retry-After"].is_object());
    assert!(create["401"]["headers"]["WWW-Authenticate"].is_object());
    assert!(create["201"]["headers"]["RateLimit"].is_object());
    let get = &operation(&document, "GET", "/api/resources/{id}")["responses"];
    assert!(get["304"]["headers"]["ETag"].is_object());
    assert!(get["200"]["headers"]["X-Cache"].is_object());
    let delete = &operation(&document, "DELETE", "/api/resources/{id}")["responses"];
    let forbidden = delete["403"]["description"].as_str().unwrap();
    assert!(forbidden.contains("`forbidden`") && forbidden.contains("`request_blocked`"));
    let livez = &operation(&document, "GET", "/livez")["responses"];
    assert!(livez.get("429").is_none() && livez["200"]["headers"].get("RateLimit").is_none());
}

#[test]
fn links_name_operations_of_the_document() {
    let document = document().unwrap();
    let ids: BTreeSet<&str> = OPERATIONS.iter().map(|op| op.id).collect();
    assert_eq!(ids.len(), OPERATIONS.len(), "operation ids are unique");
    let mut links = 0;
    for op in OPERATIONS {
        let responses = &operation(&document, op.method.as_str(), op.path)["responses"];
        for response in responses.as_object().unwrap().values() {
            for link in response["links"]
                .as_object()
                .into_iter()
                .flat_map(|l| l.values())
            {
                links += 1;
                assert!(
                    ids.contains(link["operationId"].as_str().unwrap()),
                    "{link}"
                );
            }
        }
    }
    assert!(links >= 13, "{links}");
    let create = &operation(&document, "POST", "/api/resources")["responses"]["201"];
    assert_eq!(
        create["links"]["GetAuditTrail"]["parameters"]["id"],
        "$response.body#/id"
    );
}
