"""Azure AD (v2.0 endpoints): OpenID discovery and the client-credentials token endpoint.

Tokens are JWT-shaped (HS256 with a per-start key) so a client that peeks at claims sees
realistic ones, and the emulator can check audience and expiry without storing tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import AadError

ARM_AUDIENCE = "https://management.azure.com/"
BATCH_AUDIENCE = "https://batch.core.windows.net/"
# Audiences that ARM accepts as equivalent to its own, as Azure does.
ARM_AUDIENCES = {ARM_AUDIENCE, "https://management.core.windows.net/"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_unverified(token: str) -> dict[str, Any] | None:
    """Claims of a JWT-shaped string, or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def audience_of(scope: str) -> str | None:
    """The resource a ``…/.default`` scope names, with one trailing slash.

    ``https://batch.core.windows.net//.default`` and ``https://batch.core.windows.net/.default``
    both mean ``https://batch.core.windows.net/``.
    """
    for item in scope.split():
        if item.endswith("/.default"):
            return item[: -len("/.default")].rstrip("/") + "/"
    return None


@dataclass
class Identity:
    tenant_id: str
    client_id: str
    client_secret: str


class TokenIssuer:
    def __init__(self, identity: Identity, issuer_base: str) -> None:
        self.identity = identity
        self.issuer_base = issuer_base
        self.key = secrets.token_bytes(32)

    def issue(self, audience: str, subject: str) -> str:
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": f"{self.issuer_base}/{self.identity.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "appid": self.identity.client_id,
            "oid": subject,
            "sub": subject,
            "tid": self.identity.tenant_id,
            "ver": "1.0",
        }
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        sig = hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(sig)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """Claims of a token this emulator issued and that has not expired, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
        try:
            if not hmac.compare_digest(_unb64(parts[2]), expected.digest()):
                return None
        except ValueError:
            return None
        claims = decode_unverified(token)
        if claims is None or int(claims.get("exp", 0)) < time.time():
            return None
        return claims

    # HTTP ------------------------------------------------------------------------------
    def _check_tenant(self, tenant: str) -> None:
        if tenant.lower() not in {self.identity.tenant_id, "organizations", "common"}:
            raise AadError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")

    async def openid_configuration(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self._check_tenant(tenant)
        base = f"{self.issuer_base}/{self.identity.tenant_id}"
        return web.json_response(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{base}/openid/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
                "kerberos_endpoint": f"{base}/kerberos",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "azuresim",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self._check_tenant(tenant)
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        client_id = str(form.get("client_id", ""))
        scope = str(form.get("scope", ""))
        if grant != "client_credentials":
            raise AadError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        if client_id.lower() != self.identity.client_id:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.identity.tenant_id}'.",
            )
        subject = self._authenticate_client(form)
        audience = audience_of(scope)
        if audience is None:
            raise AadError(
                400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid."
            )
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": self.issue(audience, subject),
            }
        )

    def _authenticate_client(self, form: Any) -> str:
        """Return the token subject for a secret or a federated (workload identity) assertion."""
        secret = form.get("client_secret")
        if secret is not None:
            if not hmac.compare_digest(str(secret), self.identity.client_secret):
                raise AadError(
                    400,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    f"request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{self.identity.client_id}'.",
                )
            return self.identity.client_id
        assertion = form.get("client_assertion")
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise AadError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
            claims = decode_unverified(str(assertion))
            if claims is None:
                raise AadError(
                    400,
                    "invalid_client",
                    50027,
                    "Invalid JWT token. The token is not in a valid format.",
                )
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if "api://AzureADTokenExchange" not in auds:
                raise AadError(
                    400,
                    "invalid_client",
                    700212,
                    "No matching federated identity record found for presented assertion "
                    f"audience '{aud}'.",
                )
            sub = str(claims.get("sub", ""))
            if not sub:
                raise AadError(
                    400,
                    "invalid_client",
                    700213,
                    "No matching federated identity record found for presented assertion "
                    f"subject '{sub}'.",
                )
            if int(claims.get("exp", time.time() + 1)) < time.time():
                raise AadError(
                    400,
                    "invalid_client",
                    700024,
                    "Client assertion is not within its valid time range.",
                )
            return sub
        raise AadError(
            400,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
