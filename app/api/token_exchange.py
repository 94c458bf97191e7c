"""Credentials traded for a bearer token, as Immuta's and Run:ai's clients do first.

- Immuta: ``POST /bim/apikey/authenticate`` with the form field ``apikey``
  (or a JSON body ``{"apikey": ...}``) -> ``{"token": ...}``.
- Run:ai: ``POST /api/v1/token`` with JSON ``{"grantType": "app_token",
  "AppId": ..., "AppSecret": ...}`` or ``{"grantType": "client_credentials",
  "clientId": ..., "clientSecret": ...}`` -> ``{"accessToken": ...}``. The id
  is our key's id (the ``id`` that key creation answers, ``admin-key`` for
  ``AUDITLOG_ADMIN_KEY``) and the secret is the key's secret; the names of the
  fields are matched without regard to case (``appID``, ``clientID``, ...),
  and the other fields of Run:ai's request are ignored.

The token (``app.access.tokens``) is then sent as ``Authorization: Bearer
<token>`` to every surface; it lives ``AUDITLOG_TOKEN_TTL`` seconds and dies
sooner with its key. A token is not a credential here (it cannot renew
itself). Refusals are in the service's own error style: Immuta's
``{"statusCode", "error", "message"}``, Run:ai's ``{"code", "message"}``; a
wrong key or secret is a 401 that counts as a failed authentication of the
client's address (DESIGN §8), so guessing is throttled (429) as with keys.
Each exchange is recorded in the self-audit trail (``audit.key.token``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from app.access import auth_failures, tokens
from app.access.auth import ADMIN_KEY_ID, INVALID_KEY, key_principal
from app.api.body import request_json
from app.audit.notes import note
from app.errors import AuditlogError, InvalidInput, error_response
from app.model.principal import Principal

immuta_bp = Blueprint("immuta_auth", __name__, url_prefix="/bim/apikey")
runai_bp = Blueprint("runai_auth", __name__, url_prefix="/api/v1")

RUNAI_GRANTS = ("app_token", "client_credentials")
RUNAI_IDS = ("appid", "clientid")
RUNAI_SECRETS = ("appsecret", "clientsecret")
BAD_CREDENTIALS = "the id and secret do not name a valid API key (unknown, revoked or expired)"


immuta_bp.register_error_handler(AuditlogError, partial(error_response, style="immuta"))
runai_bp.register_error_handler(AuditlogError, partial(error_response, style="runai"))


def _body() -> dict[str, Any]:
    """The form fields, or the JSON object, of the request."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name}: give the credential as a non-empty string", field=name)
    return value.strip()


def _issue(principal: Principal) -> str:
    g.principal = principal  # the request log and the self-audit event name the key
    note("audit.key.token", principal.key_id, target_kind="api_key")
    return tokens.issue(principal.key_id, ADMIN_KEY_ID)


@immuta_bp.post("/authenticate")
def immuta_authenticate() -> ResponseReturnValue:
    """Trade an API key for a bearer token (Immuta).
    ---
    post:
      summary: Trade an API key for a bearer token (Immuta)
      tags: [immuta]
      security: []
      requestBody:
        content:
          application/x-www-form-urlencoded: {schema: ImmutaApiKeySchema}
          application/json: {schema: ImmutaApiKeySchema}
      responses:
        200:
          description: "`{token}`: send it as `Authorization: Bearer <token>`"
          content: {application/json: {schema: ImmutaTokenSchema}}
        400: {$ref: "#/components/responses/ImmutaError"}
        401: {$ref: "#/components/responses/ImmutaError"}
        413: {$ref: "#/components/responses/ImmutaError"}
        429: {$ref: "#/components/responses/ImmutaError"}
        503: {$ref: "#/components/responses/ImmutaError"}
        504: {$ref: "#/components/responses/ImmutaError"}
    """
    apikey = _text(_body().get("apikey"), "apikey")
    principal = key_principal(apikey)
    if principal is None:
        raise auth_failures.refusal(INVALID_KEY)
    return {"token": _issue(principal)}


def _runai_credential(body: dict[str, Any], names: tuple[str, ...], field: str) -> str:
    given = [value for name, value in body.items() if name.lower() in names]
    if not given:
        raise InvalidInput(f"{field}: required for grantType {body.get('grantType')}",
                           field=field)
    return _text(given[0], field)


@runai_bp.post("/token")
def runai_token() -> ResponseReturnValue:
    """Trade a key's id and secret for an access token (Run:ai).
    ---
    post:
      summary: Trade a key's id and secret for an access token (Run:ai)
      description: >
        `AppId`/`clientId` is the key's id, `AppSecret`/`clientSecret` its secret.
      tags: [runai]
      security: []
      requestBody:
        content: {application/json: {schema: RunaiTokenRequestSchema}}
      responses:
        200:
          description: "`{accessToken}`: send it as `Authorization: Bearer <accessToken>`"
          content: {application/json: {schema: RunaiTokenSchema}}
        400: {$ref: "#/components/responses/RunaiError"}
        401: {$ref: "#/components/responses/RunaiError"}
        413: {$ref: "#/components/responses/RunaiError"}
        429: {$ref: "#/components/responses/RunaiError"}
        503: {$ref: "#/components/responses/RunaiError"}
        504: {$ref: "#/components/responses/RunaiError"}
    """
    body = _body()
    grant = body.get("grantType")
    if grant not in RUNAI_GRANTS:
        raise InvalidInput(f"grantType: must be one of {', '.join(RUNAI_GRANTS)}",
                           field="grantType")
    key_id = _runai_credential(body, RUNAI_IDS, "AppId" if grant == "app_token" else "clientId")
    secret = _runai_credential(body, RUNAI_SECRETS,
                               "AppSecret" if grant == "app_token" else "clientSecret")
    principal = key_principal(secret)
    if principal is None or principal.key_id != key_id:
        raise auth_failures.refusal(BAD_CREDENTIALS)
    return {"accessToken": _issue(principal)}
