"""Wiring: builds the core's parts once from Settings, for whichever channel runs them.

Channels get a `Services` object (python-telegram-bot keeps it in `bot_data`) and never build
engines or models themselves (docs/architecture.md: typed per-app services).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.assessment.loading import load_engine
from bot.cards.card_types import load_card_types
from bot.cards.compose import load_cards_policy
from bot.cards.limits import Limiter, load_limits_policy
from bot.config import Settings
from bot.conversation import ConversationService, Flow, catalogs_for
from bot.emotion.embeddings import warm_up_model
from bot.flows.assessment import AssessmentFlow
from bot.flows.cards import CardsFlow
from bot.flows.checkin import CheckinFlow
from bot.flows.counsellor import CounsellorReplyFlow
from bot.flows.crisis_care import CrisisCareFlow
from bot.flows.frame import FrameFlow
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.languages import activate
from bot.learning.policy import load_learning_policy
from bot.learning.service import LearningService
from bot.matching.knapsack_policy import load_knapsack_policy
from bot.matching.visibility import load_matching_policy
from bot.moderation.pipeline import Moderator
from bot.safety.classifier import load_crisis_classifier
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy
from bot.safety.helplines import HelplineDirectory, load_helplines
from bot.store.cards import DeliveredCopies
from bot.store.engine import make_engine, upgrade
from bot.store.inbox import InboxStore
from bot.store.inbox_policy import load_inbox_policy
from bot.store.outbox import OutboxStore
from bot.store.retention import Retention
from bot.store.sealing import Sealer
from bot.texts import Texts


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sealer: Sealer
    conversation: ConversationService
    outbox: OutboxStore
    copies: DeliveredCopies
    inbox: InboxStore
    screen: CrisisScreen
    helplines: HelplineDirectory
    housekeeping: Retention  # review text past its retention, deleted while the bot runs
    knowledge: KnowledgeBase | None = None

    def close(self) -> None:
        """Release what the process holds open: database connections, and the embedded
        chromadb's files (it keeps its SQLite and index files open until closed)."""
        if self.knowledge is not None:
            self.knowledge.close()
        self.engine.dispose()


def build_flows(
    settings: Settings,
    helplines: HelplineDirectory,
    knowledge: KnowledgeBase,
    moderator: Callable[[], Moderator],
) -> list[Flow]:
    """The conversation's features, each declaring its own states, commands, buttons, menu
    entries and guards (`bot.conversation.Flow`); after consent, the pre-assessment starts."""
    assessment = AssessmentFlow(load_engine(settings))
    frame = FrameFlow(
        helplines, after_consent=assessment.start, idle_listeners=[assessment.heard_in_idle]
    )
    cards_policy = load_cards_policy(settings.policies_dir / "cards.yaml")
    matching_policy = load_matching_policy(settings.policies_dir / "matching.yaml")
    card_types = load_card_types(settings.policies_dir / "card_types.yaml")
    checkin = CheckinFlow(
        service=LearningService(load_learning_policy(settings.policies_dir / "learning.yaml")),
        cards_policy=cards_policy,
        matching_policy=matching_policy,
        card_types=card_types,
    )
    cards = CardsFlow(
        cards_policy=cards_policy,
        matching_policy=matching_policy,
        knapsack_policy=load_knapsack_policy(settings.policies_dir / "knapsack.yaml"),
        knowledge=knowledge,
        card_types=card_types,
        moderator=moderator,
        learning=checkin,
        limiter=Limiter(load_limits_policy(settings.policies_dir / "limits.yaml")),
        retention_days=load_safety_policy(
            settings.policies_dir / "safety.yaml"
        ).case_retention_days,
    )
    care = CrisisCareFlow(knowledge, counsellors_configured=counsellors_configured(settings))
    # The flows list: a new feature is its module and one entry here (bot/conversation.py's
    # FlowRegistry refuses a clash). The order is the main menu's within a row.
    return [frame, assessment, cards, care, checkin, CounsellorReplyFlow()]


def counsellors_configured(settings: Settings) -> bool:
    """Whether a flag reaches a counsellor here: their alert chat, or their console."""
    return settings.counsellor_chat_id is not None or bool(settings.counsellor_console_url)


def build_services(
    settings: Settings,
    *,
    channel: str = "telegram",
    migrate: bool = True,
    warm_up: bool = False,
    sync_every_commit: bool = True,
) -> Services:
    """Everything a channel needs. `warm_up` also brings the kb index up to date now, so a
    running bot's first /read does not wait for it (the console and `run` set it), and screens
    one text, so the crisis screen's lazily built tables (the confusables table: tens of ms
    of JSON, more when several lane threads build it at once) are built before the first person
    writes, not inside their turn.
    `sync_every_commit=False`: only the commits that make a promise outside the process are
    synced to disk (the durable inbox and the outbox claim; bot.store.engine.make_engine), for
    a channel whose every acknowledgement and reply goes through those two (`needtotalk run`)."""
    # The languages are the packs in the configured prompts directory (docs/languages.md).
    activate(settings.prompts_dir)
    # Load the sentence model now (once per process), not on some person's first message.
    warm_up_model()
    engine = make_engine(
        settings.database_url,
        sync_every_commit=sync_every_commit,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    if migrate:
        upgrade(engine, secret=settings.secret_key.get_secret_value())
    sealer = Sealer(settings.secret_key.get_secret_value())
    # The rules and the learned layer (the sentence model is loaded above; the artefact is small).
    screen = CrisisScreen(
        load_safety_policy(settings.policies_dir / "safety.yaml"), load_crisis_classifier()
    )
    helplines = load_helplines(settings.kb_dir / "helplines.yaml")
    knowledge = KnowledgeBase(settings)
    flows = build_flows(settings, helplines, knowledge, lambda: Moderator(screen=screen))
    conversation = ConversationService(
        engine=engine,
        sealer=sealer,
        screen=screen,
        helplines=helplines,
        texts=Texts(settings.prompts_dir, catalogs=catalogs_for(flows)),
        flows=flows,
        channel=channel,
        counsellor_ref=(
            str(settings.counsellor_chat_id) if settings.counsellor_chat_id is not None else None
        ),
        counsellor_console_url=settings.counsellor_console_url,
    )
    if warm_up:
        knowledge.index()
        screen.screen("warm-up")
    return Services(
        settings=settings,
        engine=engine,
        sealer=sealer,
        conversation=conversation,
        outbox=OutboxStore(engine, sealer),
        copies=DeliveredCopies(engine, sealer),
        inbox=InboxStore(
            engine,
            sealer,
            cap=load_inbox_policy(
                settings.policies_dir / "inbox.yaml"
            ).max_waiting_updates_per_person,
        ),
        screen=screen,
        helplines=helplines,
        housekeeping=Retention(engine),
        knowledge=knowledge,
    )
