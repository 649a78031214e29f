"""updated_at triggers, the rewards-ledger trigger and the seed's four views, corrected

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here, not read from the models: a migration must mean the same thing forever.
TABLES_WITH_UPDATED_AT = (
    "users",
    "accounts",
    "campaigns",
    "feature_flags",
    "feature_flag_rollouts",
    "feature_flag_analytics",
    "ab_tests",
    "ab_test_variants",
    "ab_test_results",
    "campaign_analytics_daily",
    "campaign_analytics_segments",
    "campaign_trend_data",
    "merchant_categories",
    "merchants",
    "preferred_merchants",
    "ml_models",
    "user_merchant_affinity",
    "user_optimal_send_times",
    "campaign_optimizations",
    "settings",
)

SET_UPDATED_AT = """
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
"""

# The balance lives on users.reward_points, whose CHECK (>= 0) makes any overdraft fail. The row
# lock taken by this UPDATE also serialises concurrent redemptions of one user.
APPLY_REWARD_ENTRY = (
    """
CREATE FUNCTION apply_reward_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET reward_points = reward_points + NEW.points WHERE id = NEW.user_id;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER trg_rewards_ledger_apply AFTER INSERT ON rewards_ledger
    FOR EACH ROW EXECUTE FUNCTION apply_reward_entry()
""",
    """
CREATE FUNCTION forbid_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rewards_ledger is append-only: add an adjust entry instead'
        USING ERRCODE = 'restrict_violation';
END
$$
""",
    """
CREATE TRIGGER trg_rewards_ledger_append_only BEFORE UPDATE OR DELETE ON rewards_ledger
    FOR EACH ROW EXECUTE FUNCTION forbid_ledger_change()
""",
)

VIEWS = (
    """
CREATE VIEW v_active_feature_flags AS
SELECT id, key, name, description, category, type, enabled, rollout_percentage, owner_email,
       created_at, updated_at
FROM feature_flags
WHERE enabled
ORDER BY category, name
""",
    """
-- The seed filtered the outer-joined table in WHERE, which dropped unused flags: the window
-- belongs in the join condition.
CREATE VIEW v_feature_flag_usage_summary AS
SELECT ff.id AS flag_id,
       ff.key,
       ff.name,
       u.app_type,
       COUNT(DISTINCT u.user_id) AS unique_users,
       COUNT(DISTINCT u.session_id) FILTER (WHERE u.user_id IS NULL) AS anonymous_sessions,
       COUNT(u.id) AS total_checks,
       MAX(u.accessed_at) AS last_accessed_at
FROM feature_flags ff
LEFT JOIN feature_flag_usage u
       ON u.flag_id = ff.id AND u.accessed_at >= now() - INTERVAL '30 days'
GROUP BY ff.id, ff.key, ff.name, u.app_type
""",
    """
-- The seed joined assignments and results side by side, multiplying every sum by the other
-- side's row count. Assignments are the source of truth and are aggregated on their own.
CREATE VIEW v_ab_test_summary AS
SELECT t.id,
       t.key,
       t.name,
       t.status,
       t.starts_at,
       t.ends_at,
       COALESCE(a.users_assigned, 0) AS users_assigned,
       COALESCE(a.converted_users, 0) AS converted_users,
       COALESCE(a.total_conversions, 0) AS total_conversions,
       COALESCE(a.total_revenue, 0) AS total_revenue
FROM ab_tests t
LEFT JOIN (
    SELECT test_id,
           COUNT(*) AS users_assigned,
           COUNT(*) FILTER (WHERE conversions > 0) AS converted_users,
           SUM(conversions) AS total_conversions,
           SUM(revenue) AS total_revenue
    FROM ab_test_assignments
    GROUP BY test_id
) a ON a.test_id = t.id
""",
    """
-- Rates from summed counts (the seed averaged daily ROI ratios). Days are UTC; the window is the
-- last 90 days including today.
CREATE VIEW v_campaign_performance_summary AS
SELECT campaign_id,
       SUM(impressions) AS total_impressions,
       SUM(clicks) AS total_clicks,
       SUM(conversions) AS total_conversions,
       SUM(revenue) AS total_revenue,
       SUM(spend) AS total_spend,
       SUM(clicks)::double precision / NULLIF(SUM(impressions), 0) AS click_through_rate,
       SUM(conversions)::double precision / NULLIF(SUM(clicks), 0) AS conversion_rate,
       SUM(revenue) / NULLIF(SUM(spend), 0) AS roas,
       (SUM(revenue) - SUM(spend)) / NULLIF(SUM(spend), 0) AS roi,
       SUM(revenue) / NULLIF(SUM(conversions), 0) AS avg_order_value,
       MAX(date) AS latest_date
FROM campaign_analytics_daily
WHERE date > (now() AT TIME ZONE 'UTC')::date - 90
  AND date <= (now() AT TIME ZONE 'UTC')::date
GROUP BY campaign_id
""",
)


def upgrade() -> None:
    op.execute(SET_UPDATED_AT)
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(
            f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )
    for sql in (*APPLY_REWARD_ENTRY, *VIEWS):
        op.execute(sql)


def downgrade() -> None:
    for view in (
        "v_campaign_performance_summary",
        "v_ab_test_summary",
        "v_feature_flag_usage_summary",
        "v_active_feature_flags",
    ):
        op.execute(f"DROP VIEW {view}")
    op.execute("DROP TRIGGER trg_rewards_ledger_append_only ON rewards_ledger")
    op.execute("DROP FUNCTION forbid_ledger_change()")
    op.execute("DROP TRIGGER trg_rewards_ledger_apply ON rewards_ledger")
    op.execute("DROP FUNCTION apply_reward_entry()")
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(f"DROP TRIGGER trg_{table}_updated_at ON {table}")
    op.execute("DROP FUNCTION set_updated_at()")
