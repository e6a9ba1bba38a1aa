//! The Docker files cannot run here (no engine), so their settings are checked: the compose
//! file's environment makes a valid config with the keys a container needs, its database URI
//! matches the PostgreSQL service, and the image's user is the one the README tells to own
//! `/data`.

use matrix_instagram::config::Config;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(name: &str) -> String {
    let path = format!("{ROOT}/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn env_of(service: &Value) -> Vec<(String, String)> {
    service["environment"]
        .as_object()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_string()))
        .collect()
}

#[test]
fn the_compose_file_makes_a_container_config() {
    let compose: Value =
        serde_saphyr::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML");
    let services = &compose["services"];
    let bridge = &services["matrix-instagram"];
    let example = read("example-config.yaml")
        .replace("generate", "secret")
        .replace("example.com", "chat.test");
    let config = Config::from_yaml(&example, "docker-compose.yml", env_of(bridge))
        .unwrap_or_else(|e| panic!("the compose environment gives an invalid config: {e}"));
    assert_eq!(config.appservice.hostname, "0.0.0.0");
    assert_eq!(
        config.appservice.address.host_str(),
        Some("matrix-instagram")
    );
    assert_eq!(
        config.appservice.address.port(),
        Some(config.appservice.port)
    );

    let pg = env_of(&services["postgres"]);
    let get = |k: &str| {
        pg.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("postgres service lacks {k}"))
    };
    let uri = url::Url::parse(config.database.uri.expose()).expect("database uri");
    assert_eq!(uri.scheme(), "postgres");
    assert_eq!(uri.host_str(), Some("postgres"), "the service's name");
    assert_eq!(uri.username(), get("POSTGRES_USER"));
    assert_eq!(uri.password(), Some(get("POSTGRES_PASSWORD").as_str()));
    assert_eq!(uri.path().trim_start_matches('/'), get("POSTGRES_DB"));

    let volumes: Vec<&str> = bridge["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(volumes.contains(&"./data:/data"), "{volumes:?}");
}

#[test]
fn the_image_user_is_the_one_the_readme_names() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("--uid 1337"), "Dockerfile user");
    assert!(dockerfile.contains("VOLUME /data"));
    let readme = read("README.md");
    assert!(
        readme.contains("chown -R 1337:1337 data"),
        "README ownership step"
    );
    assert!(readme.contains("appservice.hostname: 0.0.0.0"));
}

#[test]
fn the_image_checks_its_health_with_the_binary() {
    let dockerfile = read("Dockerfile");
    let line = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        line.contains(r#"CMD ["matrix-instagram", "healthcheck"]"#),
        "HEALTHCHECK runs the binary's probe (the image has no curl): {line:?}"
    );
    // The subcommand exists and finds the config the image names.
    assert!(dockerfile.contains("ENV MATRIX_INSTAGRAM_CONFIG=/data/config.yaml"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_matrix-instagram"))
        .args(["healthcheck", "--help"])
        .output()
        .expect("run the binary");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--ready"));
}
