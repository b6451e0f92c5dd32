"""The five whys, walked along the matched signatures from symptom to deepest cause."""

from __future__ import annotations

from collections.abc import Sequence

from bot.postmortem.facts import plain
from bot.postmortem.models import WhyStep
from bot.postmortem.rca import Match
from bot.postmortem.signatures import CHANGE_KEYS, ORG_ANSWER


def five_whys(title: str, matches: Sequence[Match]) -> list[WhyStep]:
    chain = [m.signature for m in matches]
    first_q = f"Why did “{plain(title)}” happen?"
    if not chain:
        return [
            WhyStep(
                question=first_q,
                answer="Unknown: the timeline records no cause. Fill this in at the review.",
            )
        ]
    answers = [f"Because {s.answer}." for s in chain]
    questions = [first_q, *(s.follow_up for s in chain)]
    if {s.key for s in chain} & CHANGE_KEYS:
        answers.append(f"Because {ORG_ANSWER}.")
    steps = [WhyStep(question=q, answer=a) for q, a in zip(questions, answers, strict=False)]
    return steps[:5]
