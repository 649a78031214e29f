"""GraphQL types and root fields of the users domain (profile, accounts, transactions, rewards).

A package because it holds four things: the User type (user.py), a person's money (wallet.py),
ML insights about a person (insights.py) and the root fields (query.py).
"""

from __future__ import annotations

from schema.users.insights import MerchantRecommendation, OptimalSendTime
from schema.users.query import UserQuery
from schema.users.user import User
from schema.users.wallet import Account, RewardEntry, Transaction

__all__ = [
    "Account",
    "MerchantRecommendation",
    "OptimalSendTime",
    "RewardEntry",
    "Transaction",
    "User",
    "UserQuery",
]
