"""Experiment mutations: the test's configuration and lifecycle (admins and marketers) and result
snapshots (admins); assignments and conversions are in schema/experiments/assignment_mutations.py."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from core.context import Ctx
from core.policies import EXPERIMENT_WRITERS, RESULT_RECOMPUTERS
from loaders.experiments import ExperimentByIdLoader
from models import experiments as m
from resolvers.experiments import recompute, validation, writes
from schema.experiments.assignment_mutations import ExperimentAssignmentMutation, user_error
from schema.experiments.result_types import ExperimentResults
from schema.experiments.types import Experiment
from schema.mutation_runner import IDEMPOTENCY_KEY_HELP, UserError, by_id, not_an_id, pk_of, run_mutation
from schema.permissions import allow

S = m.ExperimentStatus
# Experiment writers are staff, who see every experiment: the loader finds what was written.
REREAD = by_id(ExperimentByIdLoader)


@strawberry.input(description="One arm of a test.")
class VariantInput:
    key: str = strawberry.field(description="Stable key, unique in the test (a slug, up to 100).")
    name: str = strawberry.field(description="Display name (1-255 characters).")
    weight: int = strawberry.field(description="Share of users, 0-1000; the weights of a test sum to 1000.")
    is_control: bool = strawberry.field(
        default=False, description="The one arm the others are compared with."
    )
    description: str | None = strawberry.field(default=None, description="What this arm shows (up to 5000).")
    payload: JSON | None = strawberry.field(
        default=None, description="Configuration the app applies (an object)."
    )


@strawberry.input(description="A new A/B test; it starts as a DRAFT.")
class CreateExperimentInput:
    key: str = strawberry.field(description="Stable key (a slug, up to 100); bucketing hashes it.")
    name: str = strawberry.field(description="Display name (1-255 characters).")
    variants: list[VariantInput] = strawberry.field(
        description="2-20 arms, exactly one control, weights summing to 1000. Users are bucketed over them "
        "in this order."
    )
    hypothesis: str | None = strawberry.field(default=None, description="What the test should show.")
    description: str | None = strawberry.field(default=None, description="What is tested (up to 5000).")
    campaign_id: relay.GlobalID | None = strawberry.field(default=None, description="The campaign tested.")
    confidence_level: float = strawberry.field(default=95.0, description="Percent, above 50 and below 100.")
    min_statistical_power: float = strawberry.field(
        default=80.0, description="Percent, above 0 and below 100."
    )
    baseline_rate: float | None = strawberry.field(
        default=None, description="Expected conversion rate of the control, above 0 and below 1."
    )
    minimum_detectable_effect: float | None = strawberry.field(
        default=None,
        description="Relative uplift worth detecting (0.1 = +10%); with the baseline, sizes the test.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(
    description="Changes to an experiment; omitted fields stay. Once started, only names, texts and campaign."
)
class UpdateExperimentInput:
    id: relay.GlobalID = strawberry.field(description="The experiment.")
    key: str | None = strawberry.field(default=None, description="Stable key (drafts only).")
    name: str | None = strawberry.field(default=None, description="Display name (1-255 characters).")
    variants: list[VariantInput] | None = strawberry.field(
        default=None,
        description=(
            "A draft's arms, replaced; once started, only the arms' names, descriptions and payloads."
        ),
    )
    hypothesis: str | None = strawberry.field(default=None, description="What the test should show.")
    description: str | None = strawberry.field(default=None, description="What is tested (up to 5000).")
    campaign_id: relay.GlobalID | None = strawberry.field(default=None, description="The campaign tested.")
    confidence_level: float | None = strawberry.field(default=None, description="Percent (drafts only).")
    min_statistical_power: float | None = strawberry.field(default=None, description="Percent (drafts only).")
    baseline_rate: float | None = strawberry.field(default=None, description="0 to 1 (drafts only).")
    minimum_detectable_effect: float | None = strawberry.field(
        default=None, description="Relative uplift (drafts only)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="An experiment to move along its lifecycle, or to recompute.")
class ExperimentIdInput:
    id: relay.GlobalID = strawberry.field(description="The experiment.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="The experiment as written, or why nothing was written.")
class ExperimentPayload:
    experiment: Experiment | None = strawberry.field(description="The experiment after the change.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type(description="The results as stored, or why nothing was stored.")
class RecomputeExperimentResultsPayload:
    experiment: Experiment | None = strawberry.field(description="The experiment.")
    results: ExperimentResults | None = strawberry.field(description="The snapshot just stored.")
    user_errors: list[UserError] = strawberry.field(description="Problems with the input; empty on success.")


def _variants(given: list[VariantInput] | None) -> tuple[validation.VariantFields, ...] | None:
    if given is None:
        return None
    return tuple(
        validation.VariantFields(
            key=v.key,
            name=v.name,
            weight=v.weight,
            is_control=v.is_control,
            description=v.description,
            payload=v.payload,
        )
        for v in given
    )


def _fields(data: Any, errors: list[UserError]) -> validation.ExperimentFields:
    campaign_id = None
    if data.campaign_id is not None:
        campaign_id = pk_of(data.campaign_id, "Campaign")
        if campaign_id is None:
            errors.extend(not_an_id("campaignId", "Campaign"))
    return validation.ExperimentFields(
        key=data.key,
        name=data.name,
        description=data.description,
        hypothesis=data.hypothesis,
        campaign_id=campaign_id,
        confidence_level=data.confidence_level,
        min_statistical_power=data.min_statistical_power,
        baseline_rate=data.baseline_rate,
        minimum_detectable_effect=data.minimum_detectable_effect,
        variants=_variants(data.variants),
    )


def _payload(row: m.Experiment | None, errors: list[UserError]) -> ExperimentPayload:
    return ExperimentPayload(experiment=None if row is None else Experiment.from_row(row), user_errors=errors)


async def _transition(info: Ctx, input: ExperimentIdInput, target: S, name: str) -> ExperimentPayload:
    experiment_id = pk_of(input.id, "Experiment")
    if experiment_id is None:
        return _payload(None, user_error("id", "Not an Experiment id."))

    # A lambda, not a partial: the clock is read when the write runs, inside the transaction.
    row, errors = await run_mutation(
        info,
        operation=name,
        input=input,
        write=lambda session, actor: writes.transition_experiment(
            session=session,
            actor=actor,
            experiment_id=experiment_id,
            target=target,
            now=dt.datetime.now(dt.UTC),
        ),
        reread=REREAD,
    )
    return _payload(row, errors)


@strawberry.type
class ExperimentMutation(ExperimentAssignmentMutation):
    @strawberry.mutation(
        description="Create an A/B test as a DRAFT, with its variants.",
        permission_classes=[allow(EXPERIMENT_WRITERS)],
    )
    async def create_experiment(self, info: Ctx, input: CreateExperimentInput) -> ExperimentPayload | None:
        errors: list[UserError] = []
        data = _fields(input, errors)
        if errors:
            return _payload(None, errors)

        write = partial(writes.create_experiment, data=data)
        row, errors = await run_mutation(
            info, operation="createExperiment", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)

    @strawberry.mutation(
        description="Change an experiment: anything while a DRAFT; once started, names, texts and campaign.",
        permission_classes=[allow(EXPERIMENT_WRITERS)],
    )
    async def update_experiment(self, info: Ctx, input: UpdateExperimentInput) -> ExperimentPayload | None:
        experiment_id = pk_of(input.id, "Experiment")
        errors: list[UserError] = (
            [] if experiment_id is not None else user_error("id", "Not an Experiment id.")
        )
        data = _fields(input, errors)
        if errors or experiment_id is None:
            return _payload(None, errors)

        write = partial(writes.update_experiment, experiment_id=experiment_id, data=data)
        row, errors = await run_mutation(
            info, operation="updateExperiment", input=input, write=write, reread=REREAD
        )
        return _payload(row, errors)

    @strawberry.mutation(
        description="DRAFT or PAUSED → RUNNING (a draft needs valid variants; its start becomes now).",
        permission_classes=[allow(EXPERIMENT_WRITERS)],
    )
    async def start_experiment(self, info: Ctx, input: ExperimentIdInput) -> ExperimentPayload | None:
        return await _transition(info, input, S.RUNNING, "startExperiment")

    @strawberry.mutation(
        description="RUNNING → PAUSED: no assignments or conversions until it runs again.",
        permission_classes=[allow(EXPERIMENT_WRITERS)],
    )
    async def pause_experiment(self, info: Ctx, input: ExperimentIdInput) -> ExperimentPayload | None:
        return await _transition(info, input, S.PAUSED, "pauseExperiment")

    @strawberry.mutation(
        description="RUNNING or PAUSED → COMPLETED (final): stores the results snapshot it is read with.",
        permission_classes=[allow(EXPERIMENT_WRITERS)],
    )
    async def complete_experiment(self, info: Ctx, input: ExperimentIdInput) -> ExperimentPayload | None:
        return await _transition(info, input, S.COMPLETED, "completeExperiment")

    @strawberry.mutation(
        description="DRAFT or COMPLETED → ARCHIVED (final).", permission_classes=[allow(EXPERIMENT_WRITERS)]
    )
    async def archive_experiment(self, info: Ctx, input: ExperimentIdInput) -> ExperimentPayload | None:
        return await _transition(info, input, S.ARCHIVED, "archiveExperiment")

    @strawberry.mutation(
        description="Store an experiment's live results (the read API's statistics) as its snapshot.",
        permission_classes=[allow(RESULT_RECOMPUTERS)],
    )
    async def recompute_experiment_results(
        self, info: Ctx, input: ExperimentIdInput
    ) -> RecomputeExperimentResultsPayload | None:
        experiment_id = pk_of(input.id, "Experiment")
        if experiment_id is None:
            return RecomputeExperimentResultsPayload(
                experiment=None, results=None, user_errors=user_error("id", "Not an Experiment id.")
            )

        value, errors = await run_mutation(
            info,
            operation="recomputeExperimentResults",
            input=input,
            write=lambda session, actor: recompute.recompute_experiment(
                session=session, experiment_id=experiment_id, now=dt.datetime.now(dt.UTC)
            ),
            reread=recompute.stored_results,
        )
        return RecomputeExperimentResultsPayload(
            experiment=None if value is None else Experiment.from_row(value[0]),
            results=None if value is None else ExperimentResults.from_results(value[1]),
            user_errors=errors,
        )
