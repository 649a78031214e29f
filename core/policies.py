"""Who may do what: every named set of roles, in one table.

The field policies (`allow(...)` and `type_policy(...)` in schema/) and the row-visibility rules
(loaders/visibility.py and the loaders' SQL) both read their sets from here, so a set is defined once
and a change of policy is one line. Sets that happen to hold the same roles keep their own names when
they mean different things: "may read campaigns" (merchants included, their own rows only) is not
"sees every merchant's campaigns" (merchants excluded), and merging the two would show every merchant
every other merchant's data.
"""

from __future__ import annotations

from core.viewer import Role

ADMIN, MARKETER, ANALYST = Role.ADMIN, Role.MARKETER, Role.ANALYST
MERCHANT, CUSTOMER, SERVICE = Role.MERCHANT, Role.CUSTOMER, Role.SERVICE

# ---------------------------------------------------------------- who the viewer is
EVERYONE = frozenset(Role)
STAFF = frozenset({ADMIN, MARKETER, ANALYST})
ADMINS = frozenset({ADMIN})
CUSTOMERS = frozenset({CUSTOMER})
# A person signed in with an account of their own (a users row); not a service, not anonymous.
PEOPLE = STAFF | {MERCHANT, CUSTOMER}

# ---------------------------------------------------------------- reads
# May read campaigns; merchant staff see only their own merchant's rows (row visibility).
CAMPAIGN_READERS = STAFF | {MERCHANT, SERVICE}
# See every merchant's campaigns unfiltered (the campaigns' row visibility).
SEES_EVERY_CAMPAIGN = STAFF | {SERVICE}
# See every merchant's private data (partnership terms and the like) unfiltered.
SEES_EVERY_MERCHANT = STAFF
# Campaign analytics; merchant staff read their own campaigns' only.
ANALYTICS_READERS = STAFF | {MERCHANT, SERVICE}
# Platform-wide figures (rankings across merchants, the overview).
OVERVIEW_READERS = STAFF | {SERVICE}
# Flag configuration: staff, and services that need the keys.
FLAG_READERS = STAFF | {SERVICE}
FLAG_ANALYTICS_READERS = STAFF | {SERVICE}
# The flag audit trail, experiments' configuration and results.
FLAG_AUDIT_READERS = STAFF
EXPERIMENT_READERS = STAFF
# May evaluate flags for a user other than themselves (a userId in the context).
EVALUATES_FOR_OTHERS = STAFF | {SERVICE}
# A user's own assignment in one experiment, asked for from the experiment's side (`myAssignment`).
OWN_ASSIGNMENT_READERS = STAFF | {CUSTOMER}
# One user's conversions and revenue in a test (besides the user themself); everyone else who may read
# experiments sees the aggregates of the results only.
PER_USER_EXPERIMENT_READERS = frozenset({ADMIN, SERVICE})
# An experiment assignment as seen from a user's side (their own).
ASSIGNMENT_READERS = STAFF | {MERCHANT, CUSTOMER}
# A merchant's partnership terms: staff, and that merchant's own staff.
PARTNERSHIP_READERS = STAFF | {MERCHANT}
# A person's accounts, transactions and rewards: admins, and the customer who owns them.
OWNER_READERS = frozenset({ADMIN, CUSTOMER})
# ML insights about a person (recommendations, send times): staff, and the person.
INSIGHT_READERS = STAFF | {CUSTOMER}
# Campaign optimisation advice: staff, services, and merchants for their own campaigns.
OPTIMIZATION_READERS = STAFF | {MERCHANT, SERVICE}
# Trained model versions: staff, and the ML service that uploads them.
ML_MODEL_READERS = STAFF | {SERVICE}
# Whose visible rows are their own (filtered by their user id) even under PUBLIC fields: a cached
# answer is kept per person for them (schema/caching/keys.py).
PERSONAL_ROWS = CUSTOMERS
# Every user's profile unfiltered (the users' row visibility); others see only themselves.
SEES_EVERY_USER = ADMINS
# The notification centre, devices and preferences: every person, each of their own (admins see
# everyone's, for the delivery log).
NOTIFICATION_OWNERS = PEOPLE

# ---------------------------------------------------------------- writes
CAMPAIGN_WRITERS = frozenset({ADMIN, MARKETER})
FLAG_WRITERS = frozenset({ADMIN, MARKETER})
EXPERIMENT_WRITERS = frozenset({ADMIN, MARKETER})
RESULT_RECOMPUTERS = ADMINS
MERCHANT_WRITERS = ADMINS
SETTINGS_WRITERS = ADMINS
# Analysts are read-only everywhere: no write set below holds them (tests/schema/test_analyst_read_only.py
# walks every mutation as an analyst and as an analyst API key).
# Sticky experiment assignments (customers only for themselves).
ASSIGNERS = frozenset({ADMIN, MARKETER, CUSTOMER, SERVICE})
# Conversions and their revenue are facts from the purchase pipeline: a service key, or an admin. Not
# customers (they would inflate their own results), not the marketers who run the tests.
CONVERSION_RECORDERS = frozenset({ADMIN, SERVICE})
# Campaign events from the apps and services; spend from staff and services.
EVENT_REPORTERS = frozenset({CUSTOMER, SERVICE})
# Of the event reporters, who is believed on their word: any event type (conversions and revenue
# included), any campaign that took events, any segment. Everyone else reporting (a customer's
# device) is bounded by the app rules of resolvers/analytics/writes.py.
TRUSTED_EVENT_SOURCES = frozenset({SERVICE})
SPEND_WRITERS = frozenset({ADMIN, MARKETER, SERVICE})
# Sends to an audience (users, a tier, a segment), and their delivery log.
NOTIFICATION_SENDERS = frozenset({ADMIN, MARKETER})
# Card transactions come from the processor (a service key), or an admin.
TRANSACTION_RECORDERS = frozenset({SERVICE, ADMIN})
# The ML pipeline's model versions and scores; campaign advice from marketers.
ML_PIPELINE = frozenset({SERVICE, ADMIN})
ML_ADVISERS = frozenset({MARKETER, ADMIN})
