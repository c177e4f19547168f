//! Rule 2: tokens, WABA scope and permissions.

use serde_json::json;

use crate::helpers::*;

fn body() -> serde_json::Value {
    json!({"messaging_product": "whatsapp", "pin": "123456"})
}

#[tokio::test]
async fn a_missing_token_is_104_with_an_oauth_challenge() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register")))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "OAuth \"Facebook Platform\" \"invalid_request\" \"An access token is required to request this resource.\""
    );
    let error = assert_bad_request(response, 104).await;
    assert_eq!(
        error["message"],
        "An access token is required to request this resource."
    );
    assert!(!emu.is_registered(READY));
}

#[tokio::test]
async fn the_token_may_come_from_the_query_or_the_form_body() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register?access_token={TOKEN}")))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/deregister")))
        .form(&[("access_token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_success(response).await;
}

#[tokio::test]
async fn the_parameter_wins_over_the_header() {
    // pywa's documented subscriptions call sends the client token in the header and the app
    // token in access_token; it works in production only if Graph takes the parameter.
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register?access_token={TOKEN}")))
        .bearer_auth("EAAwrong")
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    let response = emu
        .client
        .post(emu.url(&format!(
            "/v23.0/{REGISTERED}/deregister?access_token=EAAwrong"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(response, 401, 190, "OAuthException").await;
    assert!(emu.is_registered(REGISTERED));
}

#[tokio::test]
async fn unparseable_tokens_are_190_without_subcode() {
    let emu = TestEmulator::spawn().await;
    for auth in ["Bearer not a token", "Bearer {\"x\"}", "Basic dXNlcjpwYXNz"] {
        let response = emu
            .client
            .post(emu.url(&format!("/v23.0/{READY}/register")))
            .header("authorization", auth)
            .json(&body())
            .send()
            .await
            .unwrap();
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("OAuth \"Facebook Platform\" \"invalid_token\"")
        );
        let error = assert_error(response, 401, 190, "OAuthException").await;
        assert_eq!(
            error["message"],
            "Invalid OAuth access token - Cannot parse access token"
        );
        assert!(error.get("error_subcode").is_none());
    }
}

#[tokio::test]
async fn unknown_tokens_are_190_subcode_467() {
    let emu = TestEmulator::spawn().await;
    let response = emu.register_as("EAAnotIssuedByTheEmulator", READY).await;
    let error = assert_error(response, 401, 190, "OAuthException").await;
    assert_eq!(error["error_subcode"], 467);
    assert_eq!(
        error["message"],
        "Error validating access token: The session is invalid because the user logged out."
    );
}

#[tokio::test]
async fn expired_tokens_are_190_subcode_463_with_meta_dates() {
    let emu = TestEmulator::spawn().await;
    let response = emu.register_as("EAAEmulatorExpiredToken", READY).await;
    let error = assert_error(response, 401, 190, "OAuthException").await;
    assert_eq!(error["error_subcode"], 463);
    assert_eq!(
        error["message"],
        "Error validating access token: Session has expired on Tuesday, 31-Dec-24 16:00:00 PST. The current time is Wednesday, 25-Nov-26 04:00:00 PST."
    );
    assert!(!emu.is_registered(READY));
}

#[tokio::test]
async fn a_token_of_another_waba_cannot_see_the_number() {
    let emu = TestEmulator::spawn().await;
    let response = emu.register_as("EAAEmulatorOtherWabaToken", READY).await;
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&format!("Object with ID '{READY}' does not exist"))
    );
    assert!(!emu.is_registered(READY));
    // The same token works on its own WABA's number.
    let response = emu
        .register_as("EAAEmulatorOtherWabaToken", OTHER_WABA_NUMBER)
        .await;
    assert_success(response).await;
}

#[tokio::test]
async fn a_token_without_the_messaging_permission_is_403_code_200() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .register_as("EAAEmulatorManagementOnlyToken", READY)
        .await;
    let error = assert_error(response, 403, 200, "OAuthException").await;
    assert_eq!(error["message"], "(#200) Permissions error");
    // As captured: a generic Graph error carries no error_data.
    assert!(error.get("error_data").is_none(), "{error}");
    assert!(!emu.is_registered(READY));
}
