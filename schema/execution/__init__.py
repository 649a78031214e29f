"""The planned executor: query operations compiled once into plans and run breadth first, under
Strawberry (whose execution context builds the `info` resolvers get) and graphql-core (which runs
everything the planner leaves to it). See executor.py."""

from schema.execution.executor import ANSWERED_BY, PlannedExecution, graphql_core_only

__all__ = ["ANSWERED_BY", "PlannedExecution", "graphql_core_only"]
