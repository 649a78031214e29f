"""A staff send, end to end with real processes: sendNotification over HTTP to a live server, a job worker
fanning it out and delivering it, and the customer's `notificationReceived` subscription (gql's
WebSocket transport) receiving it through Redis, once; someone else's subscription receives nothing,
though both are marketers (a role whose subscribers would share one stream if these rows were not
marked as one person's)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from gql import GraphQLRequest
from strawberry import relay

from core.database import create_engine, create_sessionmaker
from core.settings import Settings
from core.viewer import Role
from tests.jobs.support import job_settings, running_worker
from tests.models import factories as f
from tests.transport.conftest import serve
from tests.transport.ws.world import DEADLINE_S, gql_client, post, token

RECEIVED = "subscription { notificationReceived { title body isRead data } }"
SEND = """
mutation ($input: SendNotificationInput!) {
  sendNotification(input: $input) { send { status recipients } userErrors { field code } }
}
"""


async def test_a_send_reaches_its_recipients_subscription_through_the_worker(
    settings: Settings, scratch_db_url: str, services: dict[str, str], tmp_path: Path, redis_prefix: str
) -> None:
    engine = create_engine(scratch_db_url, settings, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            ann, bob = (
                await f.make_user(session, role="customer"),
                await f.make_user(session, role="customer"),
            )
            marketer = await f.make_user(session, role="marketer")
    finally:
        await engine.dispose()
    worker = job_settings(
        settings, scratch_db_url, redis_url=services["redis_url"], redis_key_prefix=redis_prefix,
        notification_poll_s=0.2,
    )  # fmt: skip
    send = {
        "title": "Welcome gift",
        "body": "100 points are waiting",
        "audience": {"userIds": [relay.to_base64("User", ann.id)]},
        "channels": ["PUSH"],
        "data": {"link": "swipesavvy://rewards"},
    }

    with serve(
        scratch_db_url, services["redis_url"], tmp_path / "server.log", REDIS_KEY_PREFIX=redis_prefix
    ) as base:
        async with (
            running_worker(worker),
            gql_client(base, token(settings, Role.MARKETER, user_id=ann.id)) as ann_app,
            gql_client(base, token(settings, Role.MARKETER, user_id=bob.id)) as bob_app,
        ):
            ann_feed = ann_app.subscribe(GraphQLRequest(RECEIVED))
            bob_feed = bob_app.subscribe(GraphQLRequest(RECEIVED))
            bob_next = asyncio.ensure_future(anext(bob_feed))
            ann_next = asyncio.ensure_future(anext(ann_feed))
            # The subscription is live once the server has read its cursor: a send delivered before
            # that is not "new". Sent again every 2 s until one arrives, as a person would wait.
            marketer_token = token(settings, Role.MARKETER, user_id=marketer.id)
            async with asyncio.timeout(DEADLINE_S):
                while not ann_next.done():
                    sent = await post(base, marketer_token, SEND, {"input": send})
                    assert sent["data"]["sendNotification"]["userErrors"] == []
                    await asyncio.wait([ann_next], timeout=2.0)
            received = ann_next.result()
            # Bob, subscribed as long, was sent nothing
            assert not bob_next.done()
            # Both feeds end before the clients close (a client waits for its open subscriptions to end).
            bob_next.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bob_next
            await ann_feed.aclose()

    assert received == {
        "notificationReceived": {
            "title": "Welcome gift", "body": "100 points are waiting", "isRead": False,
            "data": {"link": "swipesavvy://rewards"},
        }
    }  # fmt: skip
