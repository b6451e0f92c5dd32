"""The five whys, walked along the matched signatures from symptom to deepest cause."""

from __future__ import annotations

from collections.abc import Sequence

from bot.causes.classifier import Finding
from bot.causes.signatures import CHANGE_KEYS, ORG_ANSWER
from bot.mrkdwn import plain
from bot.postmortem.models import WhyStep


def five_whys(title: str, findings: Sequence[Finding]) -> list[WhyStep]:
    chain = [f.signature for f in findings]
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
