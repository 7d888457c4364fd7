"""tools/learning_time.py: the stated learner times are the script's own figures."""
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import learning_time as lt  # noqa: E402

ESTIMATES = {e.notebook: e for e in lt.all_estimates()}


@pytest.mark.parametrize("stem", sorted(ESTIMATES))
def test_every_notebook_states_exactly_the_scripts_figure(stem):
    text = (ROOT / "notebook_src" / f"{stem}.py").read_text()
    stated = [line[2:] for line in text.splitlines() if lt.TIME_LINE in line]
    assert len(stated) == 1, f"{stem}: one Time to learn line"
    statement = ESTIMATES[stem].statement()
    assert stated[0].startswith(statement) and stated[0][len(statement)] in ".( ,", \
        f"{stem} states {stated[0][:70]!r}; python tools/learning_time.py computes {statement!r}"


def test_output_states_the_rates_and_a_row_per_notebook():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "learning_time.py")],
                         capture_output=True, text=True, check=True).stdout
    first = out.splitlines()[0]
    for rate in (f"{lt.PROSE_WPM} words/min", f"{lt.MIN_PER_CELL:g} min per code cell",
                 f"{lt.MIN_PER_STAR} min per ⭐"):
        assert rate in first
    for stem, e in ESTIMATES.items():
        row = next(line for line in out.splitlines() if line.startswith(f"| {stem} "))
        assert row.rstrip(" |").endswith(f"{e.core_minutes} | {e.full_minutes} | {e.extension_words:,}")
    for rate in ("150 words a minute", "1 minute per code cell", "10 minutes per ⭐"):
        assert rate in lt.__doc__


def test_counts_follow_the_stated_rules(tmp_path, monkeypatch):
    src = tmp_path / "99_demo.py"
    src.write_text('''# %% [markdown]
# # Demo
#
# **Time to learn:** 5 minutes, words here
# are not counted.
#
# one two three four five six seven eight nine ten [link](../not/counted.md)

# %%
x = 1

# %% tags=["verify"]
assert x == 1

# %% [markdown]
# ## 🧪 Exercise: something (⭐⭐)

# %% tags=["solution"]
answer = 42

# %% [markdown]
# ## Optional deep dive: more
#
# deep words

# %%
y = 2

# %% [markdown]
# ## Going further (if you finish early)
#
# 1. **Try** more things here

# %%
z = 3

# %% [markdown]
# ## Summary
''')
    monkeypatch.setattr(lt, "quiz_words", lambda nb: 0)
    e = lt.estimate(src)
    assert e.core.code_cells == 1 and e.deep.code_cells == 1, "the going-further cell counts nowhere"
    assert e.extension_words == len("Going further (if you finish early)".split()) + 5 + 2  # + "z", "3"
    assert e.core.stars == 2 and e.core.exercises == [2]
    # "Demo" + ten words + "link" + "Exercise: something" (emoji alone are no words) + "Summary"
    assert e.core.words == 1 + 11 + 2 + 1
    assert e.deep.words == len("Optional deep dive: more".split()) + 2
    assert e.core_minutes == lt.round_up(e.core.words / 150 + 1 + 20)
    assert e.full_minutes >= e.core_minutes


def test_rounding_is_up_to_five_minutes():
    assert [lt.round_up(m) for m in (0.1, 5, 5.01, 44.9)] == [5, 5, 10, 45]
