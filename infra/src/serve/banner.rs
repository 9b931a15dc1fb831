//! What `tokengate serve` prints when it starts: where it listens, and a walkthrough to paste
//! into a shell with the demo key (a test runs exactly the printed commands).

use std::net::SocketAddr;

use tokengate_shared::{ClientKey, Secret};

pub(super) fn print_walkthrough(
    address: SocketAddr,
    admin: SocketAddr,
    key: &ClientKey,
    secret: &Secret,
    upstream: Option<&reqwest::Url>,
    signing: &str,
) {
    let base = format!("http://{address}");
    let basic = base64_basic(key.id.as_str(), secret.expose());
    let upstream = upstream.map_or("the built-in echo".to_owned(), |u| u.to_string());
    println!(
        "tokengate serve: listening on {base}
  token endpoint  POST {base}/innreach/v2/oauth2/token  (INN-Reach's contract)
  OAuth 2.0       POST {base}/oauth2/token, /oauth2/introspect, /oauth2/revoke
                  GET  {base}/.well-known/oauth-authorization-server, /.well-known/jwks.json
  tokens          {signing}
  everything else goes through the authorizer, then to {upstream}
  admin           GET  http://{admin}/health, http://{admin}/metrics  (Prometheus)
  demo key        {key_id}
  demo secret     {secret}   (valid for X-From-Code d2ir1; scopes innreach_tp orders.read orders.write)
  as variables    export DEMO_KEY='{key_id}' DEMO_SECRET='{secret}'

Try it (paste these into a shell, in order):

1. Get a token into $TOKEN:
   TOKEN=$(curl -s -X POST '{base}/innreach/v2/oauth2/token?grant_type=client_credentials&scope=innreach_tp' \\
     -H 'Authorization: Basic {basic}' -H 'Accept: application/json' -H 'Content-Type: application/json' \\
     -H 'X-From-Code: d2ir1' -H 'X-To-Code: abcde' -H 'X-Request-Creation-Time: 1544466568' \\
     | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/'); echo \"TOKEN=$TOKEN\"

2. Call the API with it (the echo shows the injected headers, and no Authorization):
   curl -s {base}/patrons/42 -H 'x-api-key: {key_id}' -H \"Authorization: Bearer $TOKEN\"; echo

3. Call it without a token: denied, and the answer names why:
   curl -s {base}/patrons/42 -H 'x-api-key: {key_id}'; echo

4. Get a token that may read orders but not write them, at /oauth2/token:
   READER=$(curl -s {base}/oauth2/token -u '{key_id}:{secret}' -d grant_type=client_credentials \\
     --data-urlencode 'scope=innreach_tp orders.read' \\
     | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/'); echo \"READER=$READER\"

5. Read an order with it: allowed, GET /orders/{{id}} needs orders.read:
   curl -s {base}/orders/7 -H 'x-api-key: {key_id}' -H \"Authorization: Bearer $READER\"; echo

6. Write one: refused, POST /orders needs orders.write (the pre-inputs' routes):
   curl -s -X POST {base}/orders -H 'x-api-key: {key_id}' -H \"Authorization: Bearer $READER\"; echo

Stop the server with Ctrl-C.
",
        key_id = key.id,
        secret = secret.expose(),
    );
}

fn base64_basic(key: &str, secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
}

pub(super) fn print_without_demo_key(address: SocketAddr, admin: SocketAddr, signing: &str) {
    println!(
        "tokengate serve: listening on http://{address} (admin http://{admin})
  tokens: {signing}
  no demo key: the store is DynamoDB. Create a key with `tokengate keys create --code d2ir1`,
  or start with --demo-key for one that is disabled again when the server stops."
    );
}
