use poem::web::{cookie::CookieJar, Data};
use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::{
    body::{FieldRefusal, JsonBody},
    ApiTags, IdText,
};
use crate::{
    accounts::{self, User},
    auth::{control, extract::CookieAuth, tokens, Auth},
    client::RequestMeta,
    domain::{Label, Patterned, SignedEmail, SignedLabel, Slug, TokenName},
    error::Result,
    login,
    state::AppState,
    widget_login::{self, signature::Claims},
};

pub struct AuthApi;

impl FieldRefusal for LoginRequest {}

#[derive(Object)]
struct LoginRequest {
    /// The tenant's slug, e.g. `acme`.
    tenant: String,
    email: String,
    password: String,
}

#[derive(Object)]
struct LoginResponse {
    user: User,
}

impl FieldRefusal for WidgetSignInRequest {}

/// Who the host app says its user is, signed by the host's server with the tenant's
/// widget secret (`POST /api/admin/widget-secret/`).
#[derive(Object)]
struct WidgetSignInRequest {
    /// The tenant's slug, e.g. `acme`.
    #[oai(validator(max_length = 50))]
    tenant: Patterned<Slug>,
    /// The host app's id of the user: 1 to 200 characters, not all spaces, no control
    /// characters, no `|`.
    #[oai(validator(max_length = 200))]
    external_id: Patterned<SignedLabel>,
    /// Becomes the user's email (one `@` with text on both sides, no spaces, no `|`);
    /// updated at every sign-in.
    #[oai(validator(max_length = 254))]
    email: Patterned<SignedEmail>,
    /// Becomes the user's name (1 to 200 characters, not all spaces, no control
    /// characters); updated at every sign-in.
    #[oai(validator(max_length = 200))]
    name: Patterned<Label>,
    /// When the host signed, in Unix seconds; accepted within 5 minutes either way.
    ts: i64,
    /// Hex HMAC-SHA256 of `tenant|external_id|email|name|ts` under the widget secret.
    #[oai(validator(max_length = 128))]
    signature: String,
}

#[derive(Object)]
struct WidgetSignInResponse {
    user: User,
    /// The session as a bearer token (`Authorization: Bearer <token>`, and the socket's
    /// `?token=`) for a widget on a page of another origin, where the session cookie set
    /// alongside is not sent. It lives and ends like the session.
    token: String,
}

impl FieldRefusal for NewTokenRequest {}

#[derive(Object)]
struct NewTokenRequest {
    /// A label to recognise the token by, e.g. `ci-bot`: 1 to 100 characters, not all
    /// spaces, no control characters.
    #[oai(validator(max_length = 100))]
    name: Patterned<Label>,
}

#[derive(ApiResponse)]
enum Empty {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
enum TokenCreated {
    /// The token; its secret is shown only now.
    #[oai(status = 201)]
    Created(Json<tokens::CreatedToken>),
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Log in
    ///
    /// Sets the `sessionid` cookie (HttpOnly) and the `csrftoken` cookie. A wrong password,
    /// an unknown tenant or email and a deactivated user all answer 401
    /// `invalid_credentials`; repeated failures answer 429.
    #[oai(path = "/login/", method = "post")]
    async fn login(
        &self,
        state: Data<&AppState>,
        jar: &CookieJar,
        meta: RequestMeta,
        body: JsonBody<LoginRequest>,
    ) -> Result<Json<LoginResponse>> {
        let logged_in = login::login(
            &state.pool,
            &state.sessions,
            state.limits.login(),
            &body.tenant,
            &body.email,
            &body.password,
            &meta,
        )
        .await?;
        let user = login::establish(&state.sessions, &state.realtime, &state.credentials, jar, logged_in).await?;
        Ok(Json(LoginResponse { user }))
    }

    /// Sign in with the host app's identity
    ///
    /// For the widget embedded in another app: that app's server signs who its user is,
    /// and this opens a session for that user (created on first use with role `write`,
    /// name and email updated later). Sets the cookies as login does and also returns the
    /// session as a bearer `token`. A wrong, stale (over 5 minutes) or reused signature
    /// answers 401 `invalid_signature`; a deactivated user 403; repeated failures 429.
    #[oai(path = "/widget/", method = "post")]
    async fn widget_sign_in(
        &self,
        state: Data<&AppState>,
        jar: &CookieJar,
        meta: RequestMeta,
        body: JsonBody<WidgetSignInRequest>,
    ) -> Result<Json<WidgetSignInResponse>> {
        let gate = widget_login::Gate {
            pool: &state.pool,
            sessions: &state.sessions,
            throttle: state.limits.login(),
            replays: &state.widget_replays,
        };
        let request = widget_login::SignIn {
            claims: Claims {
                tenant: &body.tenant,
                external_id: &body.external_id,
                email: &body.email,
                name: &body.name,
                ts: body.ts,
            },
            signature: &body.signature,
        };
        let logged_in = widget_login::sign_in(gate, request, &meta).await?;
        let token = logged_in.bearer_token();
        let user = login::establish(&state.sessions, &state.realtime, &state.credentials, jar, logged_in).await?;
        Ok(Json(WidgetSignInResponse { user, token }))
    }

    /// Log out
    ///
    /// Destroys the session server-side, clears the cookies and closes the sockets
    /// opened with this session.
    #[oai(path = "/logout/", method = "post")]
    async fn logout(&self, state: Data<&AppState>, jar: &CookieJar, meta: RequestMeta, auth: Auth) -> Result<Empty> {
        if let Auth::Cookie(CookieAuth(session)) = &auth {
            let (sessions, realtime, credentials) = (&state.sessions, &state.realtime, &state.credentials);
            let (key, user_id) = (&session.session_key, session.actor.user_id());
            login::logout(sessions, realtime, credentials, jar, meta.https, key, user_id).await?;
        }
        Ok(Empty::NoContent)
    }

    /// The current user
    #[oai(path = "/me/", method = "get")]
    async fn me(&self, state: Data<&AppState>, auth: Auth) -> Result<Json<User>> {
        Ok(Json(accounts::me(&state.pool, auth.actor()).await?))
    }

    /// Create an API token
    ///
    /// The token is returned once; only its hash is stored.
    #[oai(path = "/tokens/", method = "post")]
    async fn create_token(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        body: JsonBody<NewTokenRequest>,
    ) -> Result<TokenCreated> {
        let name = TokenName::parse(&body.name)?;
        let token = tokens::create(&state.pool, auth.actor(), &name).await?;
        Ok(TokenCreated::Created(Json(token)))
    }

    /// List your API tokens
    #[oai(path = "/tokens/", method = "get")]
    async fn list_tokens(&self, state: Data<&AppState>, auth: Auth) -> Result<Json<Vec<tokens::ApiToken>>> {
        Ok(Json(tokens::list(&state.pool, auth.actor()).await?))
    }

    /// Revoke an API token
    ///
    /// Sockets opened with the token are closed.
    #[oai(path = "/tokens/:id/", method = "delete")]
    async fn revoke_token(&self, state: Data<&AppState>, auth: Auth, id: Path<IdText>) -> Result<Empty> {
        let id = id.in_path("Token")?;
        tokens::revoke(&state.pool, auth.actor(), id).await?;
        let ended = Some(tokens::credential(id));
        control::end_sessions(&state.realtime, &state.credentials, auth.actor().user_id(), ended).await;
        Ok(Empty::NoContent)
    }
}
