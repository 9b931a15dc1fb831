//! The `tokengate` binary against moto's DynamoDB server.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use serde_json::Value;
use tokengate_shared::store::dynamodb::DynamoKeyStore;
use tokengate_shared::{KeyId, KeyReader, KeyStatus};
use tokengate_tests::{ClosedPort, Moto, sdk_env, unique_name};

struct Cli {
    moto: Moto,
    keys_table: String,
    tokens_table: String,
    signing_keys_table: String,
}

impl Cli {
    fn new() -> Self {
        Self {
            moto: Moto::start(),
            keys_table: unique_name("keys"),
            tokens_table: unique_name("tokens"),
            signing_keys_table: unique_name("signing-keys"),
        }
    }

    /// A CLI whose tables exist.
    fn ready() -> Self {
        let cli = Self::new();
        cli.ok(&["tables", "create"]);
        cli
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tokengate"))
            .args(args)
            .envs(self.moto.env())
            .env("KEYS_TABLE", &self.keys_table)
            .env("TOKENS_TABLE", &self.tokens_table)
            .env("SIGNING_KEYS_TABLE", &self.signing_keys_table)
            .output()
            .expect("tokengate runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        serde_json::from_str(&self.ok(&with_json)).unwrap()
    }

    fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn store(&self) -> DynamoKeyStore {
        DynamoKeyStore::new(self.moto.client(), &self.keys_table)
    }

    /// The key as stored now.
    async fn stored(&self, key: &str) -> tokengate_shared::ClientKey {
        let id = KeyId::parse(key).unwrap();
        self.store()
            .get(&id)
            .await
            .unwrap()
            .expect("the key exists")
    }

    fn create_key(&self, codes: &[&str]) -> (String, String) {
        let mut args = vec!["keys", "create"];
        for code in codes {
            args.extend(["--code", code]);
        }
        let created = self.json(&args);
        (
            created["key"].as_str().unwrap().to_owned(),
            created["secret"].as_str().unwrap().to_owned(),
        )
    }
}

#[test]
fn tables_create_makes_every_table_and_is_harmless_to_repeat() {
    let cli = Cli::new();
    let first = cli.ok(&["tables", "create"]);
    assert!(
        first.contains(&format!("keys table   {}: created", cli.keys_table)),
        "{first}"
    );
    assert!(first.contains(&format!(
        "tokens table {}: created (TTL on expires_at)",
        cli.tokens_table
    )));
    let again = cli.json(&["tables", "create"]);
    assert_eq!(again["keys_table"]["outcome"], "already existed");
    assert_eq!(again["tokens_table"]["outcome"], "already existed");
    assert_eq!(again["tokens_table"]["ttl_attribute"], "expires_at");
    assert_eq!(again["signing_keys_table"]["outcome"], "already existed");
}

#[tokio::test]
async fn keys_create_prints_the_secret_once_and_stores_only_its_hash() {
    let cli = Cli::ready();
    let created = cli.json(&[
        "keys",
        "create",
        "--code",
        "d2ir1",
        "--code",
        "abcde",
        "--description",
        "Example U",
    ]);
    let key = created["key"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(created["codes"], serde_json::json!(["abcde", "d2ir1"]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["description"], "Example U");

    let stored = cli
        .store()
        .get(&KeyId::parse(key).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.secret_hash.verify(secret.as_bytes()));
    let table = cli
        .moto
        .client()
        .scan()
        .table_name(&cli.keys_table)
        .send()
        .await
        .unwrap();
    assert!(
        !format!("{:?}", table.items()).contains(secret),
        "the secret is stored in clear"
    );
    assert!(!cli.ok(&["keys", "show", key]).contains(secret));
}

#[test]
fn keys_create_in_text_shows_the_key_the_secret_and_a_warning_to_keep_it() {
    let cli = Cli::ready();
    let out = cli.ok(&["keys", "create", "--code", "d2ir1"]);
    assert!(out.contains("key:"), "{out}");
    assert!(out.contains("secret:"));
    assert!(out.contains("shown only this once"));
}

#[test]
fn keys_create_refuses_codes_that_are_not_five_letters_or_digits() {
    let cli = Cli::ready();
    for bad in ["d2ir", "d2ir12", "d2-r1"] {
        let (code, stderr) = cli.fails(&["keys", "create", "--code", bad]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("five ASCII letters or digits"), "{stderr}");
    }
}

#[test]
fn keys_list_shows_every_key_and_never_a_secret_or_hash() {
    let cli = Cli::ready();
    assert!(cli.ok(&["keys", "list"]).contains("no keys"));
    let (first, first_secret) = cli.create_key(&["d2ir1"]);
    let (second, _) = cli.create_key(&["abcde"]);
    let listed = cli.json(&["keys", "list"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()));
    let text = cli.ok(&["keys", "list"]);
    assert!(text.contains(&first) && text.contains(&second), "{text}");
    for output in [text, listed.to_string()] {
        assert!(!output.contains(&first_secret));
        assert!(!output.contains("hmac-sha256"));
    }
}

#[test]
fn keys_show_prints_one_key_and_says_clearly_when_there_is_none() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    let shown = cli.json(&["keys", "show", &key]);
    assert_eq!(shown["key"], key.as_str());
    assert_eq!(shown["codes"], serde_json::json!(["d2ir1"]));
    let (code, stderr) = cli.fails(&["keys", "show", "no-such-key"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.trim(), "error: key no-such-key does not exist");
}

#[tokio::test]
async fn keys_disable_and_enable_flip_the_status_in_the_table() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    let id = KeyId::parse(&key).unwrap();
    assert_eq!(cli.json(&["keys", "disable", &key])["status"], "disabled");
    assert_eq!(
        cli.store().get(&id).await.unwrap().unwrap().status,
        KeyStatus::Disabled
    );
    let enabled = cli.json(&["keys", "enable", &key]);
    assert_eq!(enabled["status"], "active");
    assert_eq!(enabled["issued_tokens_valid_again"], true);
    assert_eq!(
        cli.store().get(&id).await.unwrap().unwrap().status,
        KeyStatus::Active
    );
    let text = cli.ok(&["keys", "enable", &key]);
    assert!(
        text.contains("are valid again") && text.contains(&format!("tokens revoke --key {key}")),
        "{text}"
    );
}

#[tokio::test]
async fn keys_rotate_prints_a_new_secret_and_the_old_one_stops_working() {
    let cli = Cli::ready();
    let (key, old_secret) = cli.create_key(&["d2ir1"]);
    let rotated = cli.json(&["keys", "rotate", &key]);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    let stored = cli.stored(&key).await;
    assert!(stored.secret_hash.verify(new_secret.as_bytes()));
    assert!(!stored.secret_hash.verify(old_secret.as_bytes()));
}

#[tokio::test]
async fn keys_rotate_revokes_the_tokens_issued_so_far_unless_told_to_keep_them() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    let before = tokengate_shared::clock::now_epoch_seconds();
    let rotated = cli.json(&["keys", "rotate", &key]);
    assert_eq!(rotated["tokens_revoked"], true);
    let stored = cli.stored(&key).await;
    assert!(
        stored.tokens_revoked_at >= before,
        "the key's tokens until now"
    );

    let (kept, _) = cli.create_key(&["d2ir1"]);
    let text = cli.ok(&["keys", "rotate", &kept, "--keep-tokens"]);
    assert!(
        text.contains("--keep-tokens: tokens issued with the old secret stay valid"),
        "{text}"
    );
    assert_eq!(cli.stored(&kept).await.tokens_revoked_at, 0);
}

#[test]
fn keys_delete_removes_the_key_and_a_second_delete_fails_clearly() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    assert_eq!(cli.json(&["keys", "delete", &key])["deleted"], true);
    let (code, stderr) = cli.fails(&["keys", "delete", &key]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("key {key} does not exist")),
        "{stderr}"
    );
    assert!(cli.ok(&["keys", "list"]).contains("no keys"));
}

#[test]
fn a_missing_table_is_an_error_naming_the_table_the_endpoint_and_the_fix() {
    let cli = Cli::new();
    let (code, stderr) = cli.fails(&["keys", "list"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "table '{}' does not exist at {}",
            cli.keys_table,
            cli.moto.endpoint()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("tokengate tables create"), "{stderr}");
}

#[test]
fn an_endpoint_that_is_down_is_an_error_naming_the_endpoint() {
    let closed = ClosedPort::new();
    let endpoint = closed.url();
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["keys", "list", "--json"])
        .envs(sdk_env(&endpoint))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("cannot reach DynamoDB at {endpoint}")),
        "{message}"
    );
    assert_eq!(error["kind"], "store", "what failed, in one word");
}

#[test]
fn a_port_in_use_is_a_bind_error_naming_the_address_and_the_option() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_tokengate"))
        .args(["--json", "serve", "--port", &port, "--admin-port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["kind"], "bind");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("cannot listen on 127.0.0.1:{port}:"))
            && message.contains("--port"),
        "{message}"
    );
}

#[test]
fn an_invalid_key_id_is_refused_before_any_request() {
    let cli = Cli::ready();
    let (code, stderr) = cli.fails(&["keys", "show", "has space"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("1 to 128 visible ASCII characters"),
        "{stderr}"
    );
}

#[tokio::test]
async fn keys_show_tells_how_many_authentications_failed_and_since_when() {
    use tokengate_shared::{FailureLimit, FailureLog};
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    assert!(
        cli.json(&["keys", "show", &key])
            .get("failed_authentications")
            .is_none()
    );
    let id = KeyId::parse(&key).unwrap();
    for _ in 0..2 {
        cli.store()
            .reserve_failure(
                &id,
                1_700_000_000,
                FailureLimit {
                    max: 10,
                    window: 300,
                },
            )
            .await
            .unwrap();
    }
    let shown = cli.json(&["keys", "show", &key]);
    assert_eq!(
        shown["failed_authentications"],
        serde_json::json!({"count": 2, "since": 1_700_000_000u64})
    );
    let text = cli.ok(&["keys", "show", &key]);
    assert!(
        text.contains("failures:    2 since 2023-11-14T22:13:20Z"),
        "{text}"
    );
}

#[tokio::test]
async fn tokens_revoke_marks_the_key_so_that_its_tokens_until_now_are_revoked() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    let before = tokengate_shared::clock::now_epoch_seconds();
    let text = cli.ok(&["tokens", "revoke", "--key", &key]);
    assert!(
        text.starts_with(&format!("revoked every token of key {key} issued until ")),
        "{text}"
    );
    let stored = cli.stored(&key).await;
    assert!(stored.tokens_revoked_at >= before);
    assert_eq!(
        stored.status,
        KeyStatus::Active,
        "the key itself keeps working"
    );
    let shown = cli.json(&["keys", "show", &key]);
    assert_eq!(shown["tokens_revoked_until"], stored.tokens_revoked_at);
    let (code, stderr) = cli.fails(&["tokens", "revoke", "--key", "no-such-key"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("key no-such-key does not exist"),
        "{stderr}"
    );
}

#[tokio::test]
async fn keys_create_gives_a_client_scopes_audiences_and_a_lifetime_without_any_inn_reach_code() {
    let cli = Cli::ready();
    let created = cli.json(&[
        "keys",
        "create",
        "--scope",
        "orders.read",
        "--scope",
        "https://api.example.com/orders.write",
        "--audience",
        "https://api.example.com",
        "--token-ttl",
        "300",
    ]);
    assert_eq!(created["codes"], serde_json::json!([]));
    assert_eq!(
        created["scopes"],
        serde_json::json!(["https://api.example.com/orders.write", "orders.read"])
    );
    assert_eq!(
        created["audiences"],
        serde_json::json!(["https://api.example.com"])
    );
    assert_eq!(created["token_ttl"], 300);
    let key = created["key"].as_str().unwrap();
    let stored = cli.stored(key).await;
    assert_eq!(stored.grants.scopes.len(), 2);
    assert_eq!(stored.grants.token_ttl, Some(300));
    let shown = cli.ok(&["keys", "show", key]);
    assert!(
        shown.contains("scopes:      https://api.example.com/orders.write orders.read"),
        "{shown}"
    );
    assert!(shown.contains("token ttl:   300 s"), "{shown}");
}

#[test]
fn a_key_created_without_scopes_holds_innreach_tp_as_every_key_did_before() {
    let cli = Cli::ready();
    let (key, _) = cli.create_key(&["d2ir1"]);
    let shown = cli.json(&["keys", "show", &key]);
    assert_eq!(shown["scopes"], serde_json::json!(["innreach_tp"]));
    assert_eq!(shown["audiences"], serde_json::json!([]));
    assert_eq!(shown["token_ttl"], Value::Null);
}

#[tokio::test]
async fn keys_update_replaces_what_it_names_keeps_the_rest_and_can_clear_audiences() {
    let cli = Cli::ready();
    let created = cli.json(&[
        "keys",
        "create",
        "--scope",
        "a",
        "--audience",
        "urn:example:one",
        "--token-ttl",
        "60",
    ]);
    let key = created["key"].as_str().unwrap();
    let updated = cli.json(&["keys", "update", key, "--scope", "b", "--scope", "c"]);
    assert_eq!(updated["scopes"], serde_json::json!(["b", "c"]));
    assert_eq!(
        updated["audiences"],
        serde_json::json!(["urn:example:one"]),
        "kept"
    );
    assert_eq!(updated["token_ttl"], 60, "kept");
    let cleared = cli.json(&[
        "keys",
        "update",
        key,
        "--clear-audiences",
        "--token-ttl",
        "120",
    ]);
    assert_eq!(cleared["audiences"], serde_json::json!([]));
    assert_eq!(cleared["token_ttl"], 120);
    assert!(cli.stored(key).await.grants.audiences.is_empty());
    let (code, stderr) = cli.fails(&["keys", "update", "no-such-key", "--scope", "a"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no-such-key"), "{stderr}");
}

#[test]
fn a_malformed_scope_audience_or_lifetime_is_refused_naming_it() {
    let cli = Cli::ready();
    for (args, named) in [
        (vec!["--scope", "two words"], "'two words' is not a scope"),
        (vec!["--scope", "quo\"te"], "RFC 6749"),
        (vec!["--audience", "orders"], "'orders' is not an audience"),
        (
            vec!["--audience", "https://api.example.com/#top"],
            "without a fragment",
        ),
        (vec!["--token-ttl", "0"], "0 is not in 1..=86400"),
    ] {
        let mut command = vec!["keys", "create"];
        command.extend(args.iter());
        let (code, stderr) = cli.fails(&command);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn signing_keys_rotate_makes_envelope_keys_under_kms_and_list_shows_their_states() {
    let cli = Cli::ready();
    let listed = cli.ok(&["signing-keys", "list"]);
    assert!(listed.contains("no signing keys"), "{listed}");
    let (code, refused) = cli.fails(&["signing-keys", "rotate"]);
    assert!(refused.contains("SIGNING_KMS_KEY_ID"), "{code}: {refused}");
    let kms_key = cli.moto.kms_key().await;
    let rotate = ["signing-keys", "rotate", "--kms-key-id", kms_key.as_str()];
    let first = cli.json(&rotate);
    assert_eq!(first["created"].as_array().unwrap().len(), 2, "{first}");
    let second = cli.ok(&[&rotate[..], &["--algorithm", "ES256"]].concat());
    assert!(second.contains("next -> current"), "{second}");
    assert!(second.contains("current -> previous"), "{second}");
    let keys = cli.json(&["signing-keys", "list"]);
    let states: Vec<(&str, &str, bool)> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let state = k["state"].as_str().unwrap();
            (state, k["alg"].as_str().unwrap(), k["published"] == true)
        })
        .collect();
    assert_eq!(
        states,
        [
            ("previous", "RS256", true),
            ("current", "RS256", true),
            ("next", "ES256", true)
        ]
    );
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["mode"] == "envelope")
    );
    let text = cli.ok(&["signing-keys", "list"]);
    assert!(
        !text.contains("BEGIN") && !text.contains("ciphertext"),
        "{text}"
    );
}

#[tokio::test]
async fn signing_keys_rotate_in_kms_mode_makes_kms_keys_and_refuses_eddsa() {
    let cli = Cli::ready();
    let kms = ["signing-keys", "rotate", "--mode", "kms"];
    let (_, refused) = cli.fails(&[&kms[..], &["--algorithm", "EdDSA"]].concat());
    assert!(refused.contains("RS256 and ES256"), "{refused}");
    let made = cli.json(&kms);
    assert_eq!(made["keys"][0]["mode"], "kms", "{made}");
}

#[test]
fn keys_create_and_update_set_a_client_s_token_format() {
    let cli = Cli::ready();
    let created = cli.json(&["keys", "create", "--token-format", "jwt"]);
    assert_eq!(created["token_format"], "jwt");
    let key = created["key"].as_str().unwrap();
    let updated = cli.json(&["keys", "update", key, "--token-format", "opaque"]);
    assert_eq!(updated["token_format"], "opaque");
    let (code, refused) = cli.fails(&["keys", "update", key, "--token-format", "paseto"]);
    assert_eq!(code, 2);
    assert!(refused.contains("opaque or jwt"), "{refused}");
}
