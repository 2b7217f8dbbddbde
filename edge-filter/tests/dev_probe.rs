#[test]
fn dev() {
    let inspector = edge_filter::Inspector::default();
    let text = std::fs::read_to_string("/tmp/corp/dev-benign.jsonl").unwrap();
    let (mut n, mut fp) = (0, 0);
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let p = e["payload"].as_str().unwrap();
        n += 1;
        if let Some(f) = inspector.inspect_value(String::new, p) {
            fp += 1;
            println!("  FP {} {:?} ({})", f.rule_id, p.chars().take(220).collect::<String>(), e["source"]);
        }
    }
    println!("dev benign: {fp}/{n}");
}
