"""Usage, cost and budgets (calls, tokens, cost, wall time)."""

from __future__ import annotations

import pytest

from workbench.errors import BudgetExceeded
from workbench.llm import PRICES, Budget, CallRecord, MeteredLLM, ScriptedLLM
from workbench.llm.scripted import FunctionLLM
from workbench.llm.usage import price_for

MSGS = [{"role": "user", "content": "two words"}]


def test_records_and_totals() -> None:
    records: list[CallRecord] = []
    llm = ScriptedLLM(lambda r: "three word answer", on_call=records.append)
    llm.chat(MSGS)
    llm.complete("a b c d")
    assert [r.kind for r in records] == ["chat", "complete"]
    assert (records[0].prompt_tokens, records[0].completion_tokens) == (2, 3)
    assert records[1].prompt_tokens == 4
    u = llm.usage.to_dict()
    assert u["calls"] == 2 and u["tokens"] == 2 + 3 + 4 + 3 and u["cost"] == 0.0
    assert records[0].to_dict()["cached"] is False
    assert records[0].texts == ["three word answer"] and records[1].texts == ["three word answer"]


def test_records_keep_each_answer_cut_at_the_limit() -> None:
    from workbench.llm.usage import TEXT_LIMIT

    records: list[CallRecord] = []
    answers = iter(["short", "x" * (TEXT_LIMIT + 50)])
    llm = ScriptedLLM(lambda r: next(answers), on_call=records.append)
    llm.chat(MSGS)
    llm.chat(MSGS)
    assert records[0].texts == ["short"]
    assert records[1].texts == ["x" * TEXT_LIMIT]


def test_calls_budget_stops_before_the_call() -> None:
    calls = []
    budget = Budget(calls=2)
    llm = ScriptedLLM(lambda r: calls.append(r) or "ok", budget=budget)
    llm.chat(MSGS)
    llm.chat(MSGS)
    with pytest.raises(BudgetExceeded) as info:
        llm.chat(MSGS)
    assert len(calls) == 2
    assert (info.value.limit, info.value.used, info.value.allowed) == ("llm_calls", 2, 2)


def test_concurrent_callers_never_overshoot_the_call_limit() -> None:
    """Eight threads at a 3-call budget: the check and the charge cannot interleave."""
    import threading
    import time

    started: list[int] = []
    budget = Budget(calls=3)

    def slow(request: object) -> str:
        started.append(1)
        time.sleep(0.05)  # every caller is past its check before any call is charged
        return "ok"

    llm = ScriptedLLM(slow, budget=budget)
    outcomes: list[str] = []
    gate = threading.Barrier(8)

    def one() -> None:
        gate.wait()
        try:
            llm.chat(MSGS)
            outcomes.append("ok")
        except BudgetExceeded:
            outcomes.append("stopped")

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 3 and sorted(outcomes) == ["ok"] * 3 + ["stopped"] * 5
    assert budget.spent.calls == 3 and budget._in_flight == 0


def test_a_failed_call_releases_its_hold_and_counts() -> None:
    budget = Budget(calls=2)

    def boom(request: object) -> str:
        raise RuntimeError("server down")

    with pytest.raises(RuntimeError):
        ScriptedLLM(boom, budget=budget).chat(MSGS)
    assert budget._in_flight == 0 and budget.spent.calls == 1 and budget.spent.errors == 1


def test_budget_is_shared_between_clients() -> None:
    budget = Budget(tokens=10)
    a = ScriptedLLM(lambda r: "one two three four", budget=budget)
    b = ScriptedLLM(lambda r: "one two three four", budget=budget)
    a.chat(MSGS)  # 2 + 4 tokens
    b.chat(MSGS)  # 12 >= 10
    with pytest.raises(BudgetExceeded, match="llm_tokens"):
        a.chat(MSGS)
    assert budget.spent.tokens == 12 and a.usage.tokens == 6


def test_cost_budget_uses_the_price_table() -> None:
    budget = Budget(cost=0.005)
    prices = {"prompt": 1.0, "completion": 2.0}  # $/1k tokens
    llm = MeteredLLM(FunctionLLM(lambda r: "x " * 3, "gpt-x"), budget=budget, prices=prices)
    llm.chat(MSGS)
    assert llm.usage.cost == pytest.approx((2 * 1.0 + 3 * 2.0) / 1000)
    with pytest.raises(BudgetExceeded, match="llm_cost"):
        llm.chat(MSGS)


def test_wall_time_budget() -> None:
    budget = Budget(wall_time_s=0.0)
    with pytest.raises(BudgetExceeded, match="wall_time_s"):
        ScriptedLLM(lambda r: "x", budget=budget).chat(MSGS)


def test_prices_local_is_free_and_openai_known() -> None:
    assert price_for("qwen2.5-coder-0.5b-instruct") == {"prompt": 0.0, "completion": 0.0}
    assert price_for("gpt-4o-mini") == PRICES["gpt-4o-mini"]
    assert price_for("gpt-4o-mini", {"prompt": 9}) == {"prompt": 9, "completion": 0.0}


def test_failed_call_is_recorded_and_raised() -> None:
    def boom(request):
        raise RuntimeError("server on fire")

    records: list[CallRecord] = []
    llm = ScriptedLLM(boom, on_call=records.append)
    with pytest.raises(RuntimeError):
        llm.chat(MSGS)
    assert records[0].error == "RuntimeError: server on fire" and llm.usage.errors == 1
