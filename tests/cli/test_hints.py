"""The CLI's next step for each error code the API answers."""

from __future__ import annotations

from pomona.cli.hints import NEXT_STEPS, next_steps


def test_each_problem_gets_its_code_s_step_once_in_order() -> None:
    problems = [
        {"path": "", "message": "no title 'X'", "code": "title_not_found"},
        {"path": "/authorization", "message": "unknown token", "code": "token_unknown"},
        {"path": "", "message": "no title 'Y'", "code": "title_not_found"},
        {"path": "/a", "message": "wrong", "code": "invalid"},
        {"path": "", "message": "an answer from an older server"},
    ]

    assert next_steps(problems) == [NEXT_STEPS["title_not_found"], NEXT_STEPS["token_unknown"]]


def test_steps_name_commands_not_api_paths() -> None:
    for code, step in NEXT_STEPS.items():
        assert "/api/" not in step, code
        assert step, code
        assert step == step.strip(), code
