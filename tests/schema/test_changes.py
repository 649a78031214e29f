"""After-commit changes (core/changes.py) and read tags (core/read_tags.py) on a real database.

A subscriber hears of a write only once it has committed, with the tables and keyed rows it changed
(old and new values of a moved row); a refused mutation (userErrors, rolled back) is never heard of.
What an operation reads is recorded under the same names.
"""

from __future__ import annotations

from sqlalchemy import select
from strawberry import relay

from core import read_tags
from core.changes import Changes
from core.services import Services
from core.viewer import Role, Viewer
from models.campaigns import Campaign
from tests.models import factories as f

MARKETER = Viewer(role=Role.MARKETER)
CREATE = """
mutation ($input: CreateCampaignInput!) {
  createCampaign(input: $input) { campaign { id } userErrors { code } }
}
"""
LIST = "{ campaigns(first: 5) { edges { node { name merchant { name } } } } }"
READ = "query ($id: ID!) { node(id: $id) { ... on Campaign { name merchant { name } } } }"


def _listening() -> tuple[Services, list[Changes]]:
    heard: list[Changes] = []
    services = Services()

    async def listen(changes: Changes) -> None:
        heard.append(changes)

    services.changes.subscribe(listen)
    return services, heard


async def test_a_committed_write_is_heard_with_its_rows(live) -> None:  # type: ignore[no-untyped-def]
    services, heard = _listening()
    async with live.sessionmaker() as session, session.begin():
        merchant = await f.make_merchant(session)
    merchant_id = merchant.id

    merchant_gid = relay.to_base64("Merchant", merchant_id)
    result = await live.execute(
        CREATE,
        {"input": {"name": "Heard", "type": "EMAIL_OFFER", "merchantId": merchant_gid}},
        viewer=MARKETER,
        services=services,
    )

    assert result.errors is None, result.errors
    async with live.sessionmaker() as session:
        campaign_id = await session.scalar(select(Campaign.id))
    (changes,) = heard
    assert {"campaigns", "audit_log"} <= changes.tables
    rows = {f"campaigns.id={campaign_id}", f"campaigns.merchant_id={merchant_id}"}
    assert {"campaigns", *rows} <= changes.tags


async def test_a_refused_write_is_never_heard(live) -> None:  # type: ignore[no-untyped-def]
    services, heard = _listening()

    result = await live.execute(
        CREATE, {"input": {"name": "", "type": "EMAIL_OFFER"}}, viewer=MARKETER, services=services
    )

    assert result.data["createCampaign"]["userErrors"], result
    assert heard == []


async def test_a_moved_row_names_both_its_old_and_new_keys(live) -> None:  # type: ignore[no-untyped-def]
    services, heard = _listening()
    async with live.sessionmaker() as session, session.begin():
        first, second = await f.make_merchant(session), await f.make_merchant(session)
        campaign = await f.make_campaign(session, merchant_id=first.id)
    async with live.sessionmaker() as session, session.begin():
        row = await session.get(Campaign, campaign.id)
        assert row is not None
        row.merchant_id = second.id
    # a session outside a request records too; what it recorded is handed over by whoever commits
    from core.changes import committed_changes

    async with live.sessionmaker() as session:
        async with session.begin():
            row = await session.get(Campaign, campaign.id)
            assert row is not None
            row.merchant_id = first.id
        changes = committed_changes(session)
    assert changes is not None
    assert {f"campaigns.merchant_id={first.id}", f"campaigns.merchant_id={second.id}"} <= changes.tags
    assert heard == []


async def test_an_operation_records_the_tables_it_read(live) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        merchant = await f.make_merchant(session)
        await f.make_campaign(session, merchant_id=merchant.id)

    reading = read_tags.start()
    try:
        result = await live.execute(LIST, viewer=MARKETER)
    finally:
        read_tags.stop()

    assert result.errors is None, result.errors
    assert {"campaigns", "merchants"} <= reading.tables
    # a filtered page is the whole table's business; its merchants were loaded by id
    assert "campaigns" in reading.tags
    assert {f"merchants.id={merchant.id}", "merchants.*"} <= reading.tags


async def test_nothing_is_recorded_outside_a_recording_operation(live) -> None:  # type: ignore[no-untyped-def]
    reading = read_tags.start()
    read_tags.stop()
    async with live.sessionmaker() as session, session.begin():
        await f.make_merchant(session)

    result = await live.execute("{ campaigns(first: 1) { totalCount } }", viewer=MARKETER)

    assert result.errors is None, result.errors
    assert reading.tables == set()


async def test_a_row_read_by_key_is_recorded_as_those_rows(live) -> None:  # type: ignore[no-untyped-def]
    async with live.sessionmaker() as session, session.begin():
        merchant = await f.make_merchant(session)
        campaign = await f.make_campaign(session, merchant_id=merchant.id)
    gid = relay.to_base64("Campaign", campaign.id)

    reading = read_tags.start()
    try:
        result = await live.execute(READ, {"id": gid}, viewer=MARKETER)
    finally:
        read_tags.stop()

    assert result.errors is None, result.errors
    # the campaign and its merchant were loaded by id: only those rows, not the tables
    assert {f"campaigns.id={campaign.id}", "campaigns.*", f"merchants.id={merchant.id}"} <= reading.tags
    assert "campaigns" not in reading.tags and "merchants" not in reading.tags


def test_only_key_columns_key_a_read() -> None:
    from sqlalchemy import select

    from models.flags import FeatureFlag

    by_id = read_tags.read_key(select(FeatureFlag.id).where(FeatureFlag.id.in_([1, 2])))
    by_key = read_tags.read_key(select(FeatureFlag.id).where(FeatureFlag.key == "dark-mode"))
    either = read_tags.read_key(select(FeatureFlag.id).where((FeatureFlag.id == 1) | (FeatureFlag.id == 2)))

    assert by_id == read_tags.ReadKey("feature_flags", "id", (1, 2))
    # a write to that flag names its id, never its key: a read by key is a read of the whole table
    assert by_key is None
    assert either is None


async def test_a_deleted_parent_names_the_children_the_database_deletes(live) -> None:  # type: ignore[no-untyped-def]
    from core.changes import committed_changes
    from models.flags import FeatureFlag

    async with live.sessionmaker() as session, session.begin():
        flag = await f.make_feature_flag(session)
        await f.make_feature_flag_rollout(session, flag_id=flag.id)
    async with live.sessionmaker() as session:
        async with session.begin():
            row = await session.get(FeatureFlag, flag.id)
            await session.delete(row)
        changes = committed_changes(session)

    assert changes is not None
    assert {"feature_flag_rollouts", "feature_flag_rollouts.*"} <= changes.tags


async def test_a_reward_entry_names_the_balance_its_trigger_moves(live) -> None:  # type: ignore[no-untyped-def]
    from core.changes import committed_changes

    async with live.sessionmaker() as session, session.begin():
        user = await f.make_user(session)
    async with live.sessionmaker() as session:
        async with session.begin():
            await f.make_reward_entry(session, user_id=user.id, points=50)
        changes = committed_changes(session)

    assert changes is not None
    # migration 0002's trigger adds the points to users.reward_points: readers of that user are told
    assert {"users", f"users.id={user.id}"} <= changes.tags


async def test_a_text_statement_names_only_the_keys_its_writer_declares(live) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from core.changes import committed_changes, wrote_keys

    async with live.sessionmaker() as session, session.begin():
        campaign = await f.make_campaign(session)
    insert = text("INSERT INTO campaign_analytics_daily (campaign_id, date) VALUES (:id, current_date)")
    async with live.sessionmaker() as session:
        async with session.begin():
            await session.execute(insert, {"id": campaign.id})
        unseen = committed_changes(session)
        async with session.begin():
            await session.execute(
                text("DELETE FROM campaign_analytics_daily WHERE campaign_id = :id"), {"id": campaign.id}
            )
            wrote_keys(session, "campaign_analytics_daily", "campaign_id", [campaign.id])
        declared = committed_changes(session)

    # SQL text is invisible to the tracker; what its writer declares is heard, the table with it
    assert unseen is None
    assert declared is not None
    assert {
        "campaign_analytics_daily",
        "campaign_analytics_daily.*",
        f"campaign_analytics_daily.campaign_id={campaign.id}",
    } == declared.tags
