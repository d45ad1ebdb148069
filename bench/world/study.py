"""The simulated crowd on the world benchmark's runs: one study per prompt set and language, votes from the
analyser as a noisy annotator (bench.human.crowd), and every per-image metric's agreement with those votes
(share of decided votes it agrees with, Kendall's tau against the crowd's ranking), written where the
leaderboard's human tables read it."""

from __future__ import annotations

from bench.core.config import stable_hash

ANNOTATORS = 16
VOTES = 30  # per annotator
FLIP = 0.1  # share of preferences each simulated annotator flips
BOOTSTRAP = 500


def crowd_study(prompt_set: str, lang: str, runs: dict[str, str], seed: int = 0) -> dict:
    """Rank `runs` ({system: run id}) by a simulated crowd (once per set of runs) and return the ranking."""
    from bench.human.crowd import simulate
    from bench.human.db import opened
    from bench.human.rank import rank_study, write_ranking
    from bench.human.studies import create_study

    name = f"world-crowd-{prompt_set}-{lang}-{stable_hash(runs, length=8)}"  # new runs, new study
    with opened() as conn:
        if not conn.execute("SELECT 1 FROM studies WHERE id = ?", (name,)).fetchone():
            create_study(conn, prompt_set, lang, list(runs), name=name, run_ids=runs, seed=seed)
        result = rank_study(conn, name, n_boot=BOOTSTRAP, seed=seed)
        if not result["rankings"]["all"]["votes"]:  # new, or a run killed before its votes were cast
            simulate(conn, name, annotators=ANNOTATORS, votes=VOTES, flip=FLIP, seed=seed)
            result = rank_study(conn, name, n_boot=BOOTSTRAP, seed=seed)
    write_ranking(result)
    return result


def agreement_line(result: dict, metrics: tuple[str, ...]) -> str:
    """One line: how many votes, then each metric's agreement with them and Kendall's tau."""
    ranking = result["rankings"]["all"]
    cells = []
    for metric in metrics:
        a = result["agreement"].get(metric)
        if a and a["agreement"] is not None:
            tau = "-" if a["kendall_tau"] is None else f"{a['kendall_tau']:.2f}"
            cells.append(f"{metric} {a['agreement']:.2f} (tau {tau})")
    return (f"  crowd {result['lang']}: {ranking['votes']} votes from {ranking['annotators']} simulated annotators "
            f"(flip {FLIP}); agreement " + (", ".join(cells) or "none"))
