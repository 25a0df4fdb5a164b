"""MMS images: thumbnails served with the agent's session (stored files and Twilio's media,
fetched with its credentials), the composer's attachment and the simulator's picture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from activities.sms import _sms
from api.app import create_app
from inbox.media import MAX_MEDIA_BYTES, media_dir, store_image
from inbox.models import Conversation, ConversationStatus, Direction, Message
from inbox.services.inbound import receive_inbound
from inbox.settings import Settings
from tests.providers.fake_twilio import FakeTwilioHttp, serve_fake_twilio
from tests.web.conftest import FakeTemporal, World

PNG = b"\x89PNG\r\n\x1a\n" + b"first-picture" * 8
GIF = b"GIF89a" + b"second-picture" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"twilio-picture" * 8
SID = "AC" + "1" * 32
TOKEN = "media-test-token"


@pytest.fixture
def twilio() -> Iterator[tuple[FakeTwilioHttp, str]]:
    fake = FakeTwilioHttp()
    fake.media_auth = (SID, TOKEN)
    with serve_fake_twilio(fake) as base_url:
        yield fake, base_url


@pytest.fixture
def settings(database_url: str, tmp_path: Any, twilio: tuple[FakeTwilioHttp, str]) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        public_url="http://inbox.example.com",
        twilio_base_url=twilio[1],
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
    )


@pytest.fixture
def web_app(settings: Settings, engine: Any, temporal: FakeTemporal) -> FastAPI:
    """The app with its data folder in the test's temporary directory."""
    return create_app(settings, temporal_client=temporal)  # type: ignore[arg-type]


def mms_in(
    sessions,
    world: World,
    media: list[dict[str, Any]],
    body: str = "",
    number: str = "+12025550177",
) -> Conversation:
    with sessions() as session:
        result = receive_inbound(
            session,
            provider="twilio",
            provider_message_id=f"MM{len(media)}{abs(hash(str(media))) % 10**12:032d}",
            from_number=number,
            to_number=world.channel.number or "",
            body=body,
            media=media,
        )
        session.commit()
        return result.conversation


def _message(sessions, conversation_id: int) -> Message:
    with sessions() as session:
        return session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
        ).first()


def test_every_image_of_a_message_is_a_thumbnail_for_members_only(
    signed_in, sessions, world, settings
):
    pictures = [store_image(settings, PNG), store_image(settings, GIF)]
    convo = mms_in(sessions, world, pictures, body="two photos")
    message = _message(sessions, convo.id)
    agent = signed_in("agent@example.com")
    page = agent.get(f"/inbox/{convo.id}")
    sources = re.findall(r'<img src="(/inbox/\d+/media/\d+/\d+)"', page.text)
    assert sources == [f"/inbox/{convo.id}/media/{message.id}/0",
                       f"/inbox/{convo.id}/media/{message.id}/1"]  # fmt: skip
    first, second = (agent.get(src) for src in sources)
    assert (first.status_code, first.content, first.headers["content-type"]) == (
        200, PNG, "image/png"
    )  # fmt: skip
    assert second.content == GIF and second.headers["content-type"] == "image/gif"
    assert "private" in first.headers["cache-control"]
    assert first.headers["x-content-type-options"] == "nosniff"
    # Beyond the message's images, another conversation's id, or someone who may not see it.
    assert agent.get(f"/inbox/{convo.id}/media/{message.id}/2").status_code == 404
    other = mms_in(sessions, world, [], body="plain", number="+12025550178")
    assert agent.get(f"/inbox/{other.id}/media/{message.id}/0").status_code == 404
    outsider = signed_in("other@example.com")
    refused = outsider.get(sources[0])
    assert refused.status_code == 404 and PNG not in refused.content
    anonymous = TestClient(agent.client.app).get(sources[0], follow_redirects=False)
    assert anonymous.status_code == 303


def test_twilio_media_are_fetched_with_the_account_credentials(
    signed_in, sessions, world, settings, twilio
):
    fake, base_url = twilio
    path = f"/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"
    fake.media[path] = ("image/jpeg", JPEG)
    fake.media["/cdn/html"] = ("text/html", b"<script>alert(1)</script>")
    fake.media["/cdn/huge"] = ("image/png", b"\x89PNG\r\n\x1a\n" + b"x" * MAX_MEDIA_BYTES)
    fake.redirects["/cdn/hop"] = path  # same origin: credentials again
    fake.redirects["/cdn/away"] = "http://127.0.0.2:9/stolen"  # plain http elsewhere: refused
    media = [
        {"url": base_url + path, "content_type": "image/jpeg"},
        {"url": base_url + "/cdn/hop", "content_type": "image/jpeg"},
        {"url": base_url + "/cdn/html", "content_type": "image/jpeg"},
        {"url": base_url + "/cdn/huge", "content_type": "image/png"},
        {"url": base_url + "/cdn/away", "content_type": "image/png"},
        {"url": "https://evil.example.com/a.png", "content_type": "image/png"},
        {"url": base_url + path, "content_type": "video/mp4"},
    ]
    convo = mms_in(sessions, world, media)
    message = _message(sessions, convo.id)
    agent = signed_in("agent@example.com")
    url = f"/inbox/{convo.id}/media/{message.id}/"
    got = agent.get(url + "0")
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert fake.media_requests[-1][1].startswith("Basic ")
    assert agent.get(url + "1").content == JPEG
    assert [agent.get(url + str(i)).status_code for i in (2, 3, 4)] == [502, 502, 502]
    assert agent.get(url + "5").status_code == 404  # never fetched: not at the provider
    assert agent.get(url + "6").status_code == 415  # not an image the inbox shows
    assert not any("evil" in p for p, _ in fake.media_requests)
    page = agent.get(f"/inbox/{convo.id}").text
    assert len(re.findall(r'<img src="/inbox/', page)) == 6  # the video stays a link
    fake.media_auth = (SID, "another-token")  # the token was rotated: Twilio answers 401
    assert agent.get(url + "0").status_code == 502


def test_the_composer_sends_an_image_kept_in_the_data_folder(
    signed_in, sessions, world, settings, client
):
    convo = mms_in(sessions, world, [], body="can you show me?")
    agent = signed_in("agent@example.com")
    reply = f"/conversations/{convo.id}/reply"
    sent = agent.post(reply, {"body": "Here it is"}, files={"image": ("lid.png", PNG, "image/png")})
    assert sent.status_code == 200, sent.text
    message = _message(sessions, convo.id)
    assert message.direction == Direction.OUTBOUND and message.body == "Here it is"
    [item] = message.media
    name = item["file"]
    assert re.fullmatch(r"[0-9a-f]{32}\.png", name)
    assert item["url"] == f"http://inbox.example.com/media/files/{name}"
    assert (media_dir(settings) / name).read_bytes() == PNG
    assert f'src="/inbox/{convo.id}/media/{message.id}/0"' in sent.text
    # The provider fetches it with no session; a name that is not a stored file is a 404.
    public = client.get(f"/media/files/{name}")
    assert public.status_code == 200 and public.content == PNG
    assert public.headers["content-type"] == "image/png"
    assert public.headers["content-security-policy"] == "default-src 'none'"
    # What the provider is handed: the public URL of the file.
    assert _sms(message).media_urls == (item["url"],)
    assert client.get("/media/files/../inbox.db").status_code == 404
    assert client.get(f"/media/files/{'0' * 32}.png").status_code == 404
    # Only the image, no text: an MMS of its own.
    alone = agent.post(reply, {"body": ""}, files={"image": ("x.gif", GIF, "image/gif")})
    assert alone.status_code == 200


def test_the_composer_refuses_large_wrong_and_empty_files(signed_in, sessions, world, settings):
    convo = mms_in(sessions, world, [], body="hello")
    agent = signed_in("agent@example.com")
    reply = f"/conversations/{convo.id}/reply"
    huge = PNG + b"x" * MAX_MEDIA_BYTES
    too_large = agent.post(reply, {"body": "big"}, files={"image": ("a.png", huge, "image/png")})
    assert too_large.status_code == 413 and "5 MB" in too_large.text
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    wrong = agent.post(reply, {"body": "x"}, files={"image": ("a.png", svg, "image/png")})
    assert wrong.status_code == 415 and "JPEG, PNG, GIF and WebP" in wrong.text
    empty = agent.post(reply, {"body": "x"}, files={"image": ("a.png", b"", "image/png")})
    assert empty.status_code == 422
    assert not media_dir(settings).exists() or list(media_dir(settings).iterdir()) == []
    # Refused when queued, after the file was kept (a spam conversation): the file goes too.
    with sessions() as session:
        session.get(Conversation, convo.id).status = ConversationStatus.SPAM
        session.commit()
    spam = agent.post(reply, {"body": "x"}, files={"image": ("a.png", PNG, "image/png")})
    assert spam.status_code == 422 and "spam" in spam.text
    assert list(media_dir(settings).iterdir()) == []
    assert _message(sessions, convo.id).direction == Direction.INBOUND


def test_the_simulator_sends_a_picture_in_as_an_mms(client, sessions, world, settings):
    sent = client.post(
        "/simulator/api/send-image",
        data={"from": "+12025550188", "to": world.channel.number, "body": "look"},
        files={"image": ("photo.gif", GIF, "image/gif")},
    )
    assert sent.status_code == 200, sent.text
    message = _message(sessions, sent.json()["conversation_id"])
    [item] = message.media
    assert message.body == "look" and item["content_type"] == "image/gif"
    assert (media_dir(settings) / item["file"]).read_bytes() == GIF
    phone = client.get("/simulator/api/messages", params={"number": "+12025550188"}).json()
    assert phone["messages"][0]["media"][0]["url"] == item["url"]
    wrong = client.post(
        "/simulator/api/send-image",
        data={"from": "+12025550188", "to": world.channel.number},
        files={"image": ("a.txt", b"hello", "text/plain")},
    )
    assert wrong.status_code == 415
    empty = client.post(
        "/simulator/api/send-image",
        data={"from": "+12025550188", "to": world.channel.number},
        files={"image": ("empty.png", b"", "image/png")},
    )
    # A 422 shaped like FastAPI's own, as the API schema documents it (schemathesis checks).
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "image"]
