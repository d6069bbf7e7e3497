"""The REST API through FastAPI's TestClient: the whole loop, retries, isolation, bad input."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import plgl
from plgl.cli import main
from plgl.errors import InvalidInputError
from plgl.navigation.anchors import SHARED_MAPS
from plgl.server import Settings, create_app
from plgl.server.deps import get_settings
from plgl.session import Session

SECRET = "test-secret-" + "x" * 32


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "domain": "identity",
        "storage": "memory://",
        "secret": SECRET,
        "data_dir": tmp_path,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(tmp_path))) as test_client:
        yield test_client


def _user(client: TestClient) -> dict[str, str]:
    response = client.post("/api/users")
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _feed(client: TestClient, auth: dict[str, str], n: int = 4) -> list[dict[str, Any]]:
    response = client.post(f"/api/feed?n={n}", headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _rate(client: TestClient, auth: dict[str, str], **body: Any) -> Any:
    return client.post("/api/feedback", headers=auth, json=body)


def test_full_flow_from_sign_up_to_delete(client: TestClient) -> None:
    auth = _user(client)
    assert client.get("/api/me", headers=auth).json()["ratings"] == 0
    domain = client.get("/api/domain").json()
    assert domain == {
        "name": "identity",
        "modality": "vector",
        "media_types": ["image/svg+xml"],
        "latent_dim": 16,
    }

    items = _feed(client, auth, n=6)
    assert len(items) == 6 and len({item["id"] for item in items}) == 6
    assert all(len(item["metadata"]["vector"]) == 16 for item in items)
    signals = ["like", "dislike", "skip", "superlike"]
    for i, (item, signal) in enumerate(zip(items, signals, strict=False)):
        response = _rate(client, auth, item_id=item["id"], signal=signal, dwell_seconds=0.5 * i)
        assert response.status_code == 200, response.text
        assert response.json()["ratings"] == i + 1
        assert response.json()["event"]["signal"] == signal
    response = client.post(
        "/api/compare",
        headers=auth,
        json={"preferred_id": items[4]["id"], "other_id": items[5]["id"]},
    )
    assert response.status_code == 200 and response.json()["ratings"] == 5
    status = client.get("/api/me", headers=auth).json()
    assert status["ratings"] == 5 and 0 < status["confidence"] < 1 and status["explore"] == 0.3

    recommended = client.get("/api/recommendations?k=5", headers=auth).json()["items"]
    assert len(recommended) == 5 and all(item["source"] == "recommend" for item in recommended)
    scores = [item["score"] for item in recommended]
    assert all(0 <= s <= 1 for s in scores)
    reversed_ = client.get("/api/reverse?target=0.3&n=4", headers=auth).json()["items"]
    assert len(reversed_) == 4 and all(item["source"] == "reverse" for item in reversed_)
    assert all(abs(item["score"] - 0.3) < 0.05 for item in reversed_)
    # Items from recommend and reverse are the user's: they can be rated and rendered.
    assert _rate(client, auth, item_id=reversed_[0]["id"], signal="like").status_code == 200

    explained = client.get("/api/me/explain", headers=auth).json()
    assert explained["ratings"] == 6 and explained["traits"] and explained["summary"]

    response = client.put("/api/me/adventurousness", headers=auth, json={"share": 0.8})
    assert response.status_code == 200 and response.json()["explore"] == 0.8

    exported = client.get("/api/me/export", headers=auth)
    assert exported.headers["content-disposition"].startswith("attachment")
    data = exported.json()
    assert len(data["events"]) == 6 and data["settings"] == {"explore": 0.8}
    assert {item["id"] for item in items} <= {item["id"] for item in data["items"]}

    assert client.delete("/api/me", headers=auth).status_code == 204
    for method, path in [("GET", "/api/me"), ("POST", "/api/feed"), ("GET", "/api/me/export")]:
        response = client.request(method, path, headers=auth)
        assert response.status_code == 410 and response.json()["error"] == "user_deleted"
    assert client.delete("/api/me", headers=auth).status_code == 410


def test_content_is_served_by_media_type_and_cacheable(client: TestClient) -> None:
    auth = _user(client)
    item = _feed(client, auth, n=1)[0]
    url = item["content"]["image/svg+xml"]
    response = client.get(url, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    tag = response.headers["etag"]
    for header in (tag, f'"other", W/{tag}', "*"):
        again = client.get(url, headers=auth | {"If-None-Match": header})
        assert again.status_code == 304 and again.content == b""
    assert client.get(url, headers=auth | {"If-None-Match": '"other"'}).status_code == 200
    # The default media type is the domain's first one; others are refused clearly.
    assert client.get(f"/api/items/{item['id']}/content", headers=auth).content == response.content
    wrong = client.get(f"/api/items/{item['id']}/content?type=image/png", headers=auth)
    assert wrong.status_code == 422 and "image/svg+xml" in wrong.json()["message"]


def test_a_retried_rating_changes_nothing(client: TestClient) -> None:
    auth = _user(client)
    item = _feed(client, auth, n=1)[0]
    body = {"item_id": item["id"], "signal": "like", "event_id": "e-1", "dwell_seconds": 1.5}
    first = _rate(client, auth, **body)
    second = _rate(client, auth, **body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and second.json()["ratings"] == 1
    conflict = _rate(client, auth, **(body | {"signal": "dislike"}))
    assert conflict.status_code == 409 and conflict.json()["error"] == "event_conflict"
    events = client.get("/api/me/export", headers=auth).json()["events"]
    assert [event["signal"] for event in events] == ["like"]


def test_another_users_token_can_read_or_change_nothing(client: TestClient) -> None:
    alice, bob = _user(client), _user(client)
    items = _feed(client, alice, n=3)
    assert _rate(client, alice, item_id=items[0]["id"], signal="like").status_code == 200
    url = items[1]["content"]["image/svg+xml"]
    tag = client.get(url, headers=alice).headers["etag"]

    assert _rate(client, bob, item_id=items[1]["id"], signal="like").status_code == 404
    pair = {"preferred_id": items[1]["id"], "other_id": items[2]["id"]}
    assert client.post("/api/compare", headers=bob, json=pair).status_code == 404
    assert client.get(url, headers=bob).status_code == 404
    assert client.get(url, headers=bob | {"If-None-Match": tag}).status_code == 404
    bob_export = client.get("/api/me/export", headers=bob).json()
    assert bob_export["events"] == [] and bob_export["items"] == []

    assert client.delete("/api/me", headers=bob).status_code == 204
    alice_export = client.get("/api/me/export", headers=alice).json()
    assert len(alice_export["events"]) == 1 and len(alice_export["items"]) == 3
    assert client.get(url, headers=alice).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "nonsense",
        "u_" + "0" * 32 + ".forged",
        "u_" + "0" * 32,
        "../../etc/passwd",
        "x" * 5000,
    ],
)
def test_requests_without_a_genuine_token_are_refused(
    client: TestClient, token: str | None
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    for method, path in [
        ("GET", "/api/me"),
        ("POST", "/api/feed"),
        ("GET", "/api/recommendations"),
        ("GET", "/api/me/export"),
        ("DELETE", "/api/me"),
        ("GET", "/api/items/abc/content"),
    ]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_signed_for_one_user_does_not_open_another(client: TestClient) -> None:
    alice = client.post("/api/users").json()
    bob = client.post("/api/users").json()
    swapped = bob["user_id"] + "." + alice["token"].split(".", 1)[1]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {swapped}"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "body.item_id"),
        ({"item_id": "a", "signal": "love"}, "body.signal"),
        ({"item_id": "a", "signal": "like", "dwell_seconds": -1}, "body.dwell_seconds"),
        ({"item_id": "a", "signal": "like", "dwell_seconds": 1e300}, "body.dwell_seconds"),
        ({"item_id": "a", "signal": "like", "dwell_seconds": "soon"}, "body.dwell_seconds"),
        ({"item_id": "../../etc/passwd", "signal": "like"}, "body.item_id"),
        ({"item_id": "a' OR '1'='1", "signal": "like"}, "body.item_id"),
        ({"item_id": "<script>alert(1)</script>", "signal": "like"}, "body.item_id"),
        ({"item_id": "a" * 65, "signal": "like"}, "body.item_id"),
        ({"item_id": ["a"], "signal": "like"}, "body.item_id"),
        ({"item_id": "a", "signal": "like", "event_id": ""}, "body.event_id"),
        ({"item_id": "a", "signal": "like", "admin": True}, "body.admin"),
    ],
)
def test_malformed_ratings_get_a_clear_422(
    client: TestClient, body: dict[str, Any], where: str
) -> None:
    auth = _user(client)
    response = _rate(client, auth, **body)
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "invalid_request" and error["details"][0]["where"] == where
    assert client.get("/api/me", headers=auth).json()["ratings"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"item_id": "a", "signal": "like", "dwell_seconds": NaN}',
        b'{"item_id": "a", "signal": "like", "dwell_seconds": Infinity}',
        b"[1, 2, 3]",
        b'{"item_id": "a", "signal": "like"',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_unparseable_bodies_get_a_422(client: TestClient, raw: bytes) -> None:
    auth = _user(client)
    headers = auth | {"Content-Type": "application/json"}
    response = client.post("/api/feedback", headers=headers, content=raw)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/feed?n=0", None),
        ("POST", "/api/feed?n=51", None),
        ("POST", "/api/feed?n=ten", None),
        ("GET", "/api/recommendations?k=-1", None),
        ("GET", "/api/reverse", None),
        ("GET", "/api/reverse?target=1", None),
        ("GET", "/api/reverse?target=0", None),
        ("GET", "/api/reverse?target=nan", None),
        ("GET", "/api/reverse?target=0.5&n=1000", None),
        ("PUT", "/api/me/adventurousness", {"share": 1.5}),
        ("PUT", "/api/me/adventurousness", {"share": None}),
        ("POST", "/api/compare", {"preferred_id": "a"}),
        ("GET", "/api/items/abc/content?type=text/html;x", None),
        ("GET", "/api/items/a.b/content", None),
    ],
)
def test_out_of_range_requests_get_a_422(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path, headers=_user(client), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"]


def test_rating_an_item_never_shown_is_a_404_and_comparing_it_with_itself_a_422(
    client: TestClient,
) -> None:
    auth = _user(client)
    item = _feed(client, auth, n=1)[0]
    response = _rate(client, auth, item_id="f" * 32, signal="like")
    assert response.status_code == 404 and response.json()["error"] == "unknown_item"
    same = {"preferred_id": item["id"], "other_id": item["id"]}
    response = client.post("/api/compare", headers=auth, json=same)
    assert response.status_code == 422 and "different items" in response.json()["message"]


def test_oversized_bodies_get_a_413_with_or_without_a_length(client: TestClient) -> None:
    auth = _user(client)
    big = b'{"item_id": "' + b"a" * 20_000 + b'", "signal": "like"}'
    response = client.post("/api/feedback", headers=auth, content=big)
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 1024

    response = client.post(
        "/api/feedback", headers=auth | {"Content-Type": "application/json"}, content=chunks()
    )
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"
    assert client.get("/api/me", headers=auth).json()["ratings"] == 0


def test_ratings_are_rate_limited_per_user(client: TestClient) -> None:
    app: Any = client.app
    strict = _settings(Path("unused"), feedback_rate=0.01, feedback_burst=3)
    app.dependency_overrides[get_settings] = lambda: strict
    alice, bob = _user(client), _user(client)
    items = _feed(client, alice, n=5)
    answers = [_rate(client, alice, item_id=i["id"], signal="like") for i in items]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json()["error"] == "rate_limited"
    assert int(answers[3].headers["retry-after"]) >= 1
    assert client.get("/api/me", headers=alice).json()["ratings"] == 3
    # Another user's bucket is their own.
    bob_item = _feed(client, bob, n=1)[0]
    assert _rate(client, bob, item_id=bob_item["id"], signal="like").status_code == 200


def test_a_crash_is_a_generic_500_without_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Session) -> None:
        raise RuntimeError("secret internals /etc/shadow")

    monkeypatch.setattr(Session, "explain", explode)
    app = create_app(_settings(tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/me/explain", headers=_user(client))
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "Something went wrong on our side.",
    }
    assert "secret" not in response.text and "Traceback" not in response.text


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = client.patch("/api/users")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_the_web_ui_and_openapi_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="/static/app.js"' in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200
    schema = client.get("/openapi.json").json()
    assert (
        "/api/feedback" in schema["paths"]
        and "HTTPBearer" in schema["components"]["securitySchemes"]
    )
    assert client.get("/docs").status_code == 200


def test_settings_come_from_arguments_then_environment() -> None:
    env = {"PLGL_PORT": "9001", "PLGL_DOMAIN": "identity", "PLGL_DATA_DIR": "/srv/plgl"}
    settings = Settings.from_env(env, port=9002)
    assert (settings.port, settings.domain, settings.data_dir) == (
        9002,
        "identity",
        Path("/srv/plgl"),
    )
    assert settings.storage_url() == "sqlite:////srv/plgl/plgl.db"
    with pytest.raises(InvalidInputError, match="PLGL_PORT must be an int"):
        Settings.from_env({"PLGL_PORT": "eighty"})
    with pytest.raises(InvalidInputError, match="port must be in"):
        Settings.from_env({}, port=70000)
    with pytest.raises(InvalidInputError, match="unknown settings"):
        Settings.from_env({}, colour="red")


def test_the_perceptual_maps_a_worker_keeps_are_a_setting(tmp_path: Path) -> None:
    settings = Settings.from_env({"PLGL_PERCEPTUAL_MAPS": "512"}, data_dir=tmp_path)
    assert settings.perceptual_maps == 512
    with pytest.raises(InvalidInputError, match="perceptual_maps must be >= 0"):
        Settings.from_env({"PLGL_PERCEPTUAL_MAPS": "-1"})
    faces = plgl.generators.get("faces")
    assert plgl.Engine(faces).perceptual_maps.size == SHARED_MAPS
    assert plgl.Engine(faces, perceptual_maps=512).perceptual_maps.size == 512
    with pytest.raises(InvalidInputError, match="perceptual_maps"):
        plgl.Engine(faces, perceptual_maps=-1)


def test_the_secret_file_is_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    key = settings.secret_key()
    path = tmp_path / "data" / "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "data").secret_key() == key
    os.chmod(path, 0o644)
    with pytest.raises(InvalidInputError, match="chmod 600"):
        settings.secret_key()


def test_users_and_ratings_survive_a_restart_on_the_default_sqlite(tmp_path: Path) -> None:
    settings = Settings(domain="identity", data_dir=tmp_path / "data")  # sqlite + secret file
    assert settings.storage_url().startswith("sqlite:///")
    with TestClient(create_app(settings)) as client:
        auth = _user(client)
        items = _feed(client, auth, n=3)
        for item in items:
            assert _rate(client, auth, item_id=item["id"], signal="like").status_code == 200
    with TestClient(create_app(Settings(domain="identity", data_dir=tmp_path / "data"))) as client:
        assert client.get("/api/me", headers=auth).json()["ratings"] == 3
        assert client.get(items[0]["content"]["image/svg+xml"], headers=auth).status_code == 200


def test_serve_rejects_an_unknown_domain_with_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--domain", "nope", "--storage", "memory://", "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown domain 'nope'" in capsys.readouterr().err
