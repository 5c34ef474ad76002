"""JourneyArchetypes: the scikit-learn contract, degenerate data, profiles worked out by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from cxlab import JourneyArchetypes, load_dataset
from cxlab.archetypes import ArchetypeWarning
from cxlab.journeys import transition_features
from cxlab.profiles import profile_archetypes


# The checks feed arbitrary real matrices (negative values too), so the square root, meant
# for shares, is off; a fixed k keeps them fast. Tiny matrices (below MIN_CUSTOMERS) give one
# archetype with an ArchetypeWarning, which the checks do not expect warnings-as-errors for.
@pytest.mark.filterwarnings("ignore::cxlab.archetypes.ArchetypeWarning")
@parametrize_with_checks([JourneyArchetypes(3, variance_stabilize=False, scale=True, random_state=0)])
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


def _blobs(n_per=40, seed=0):
    """Three clearly separate touchpoint mixes over four touchpoints, as shares."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    rows = np.vstack([rng.dirichlet(c * 60, n_per) for c in centres])
    frame = pl.DataFrame(rows, schema=["share_tp_store", "share_tp_web", "share_tp_phone", "share_tp_app"])
    return frame.with_columns(
        pl.Series("customer_id", [f"c{i}" for i in range(len(rows))]),
        pl.Series("is_churned", np.arange(len(rows)) % 4 == 0),
        pl.Series("n_events", np.full(len(rows), 10)),
    )


def test_auto_finds_three_separate_mixes_and_numbers_them_by_size():
    table = _blobs()
    model = JourneyArchetypes(random_state=0).fit(table)
    assert model.n_archetypes_ == 3 and model.selection_scores_.filter("chosen")["k"].item() == 3
    assert list(model.feature_names_in_) == [
        "share_tp_store",
        "share_tp_web",
        "share_tp_phone",
        "share_tp_app",
    ]
    assert (np.bincount(model.labels_) == 40).all()
    assert (model.predict(table) == model.labels_).all() and model.transform(table).shape == (120, 3)
    assert model.stability_ > 0.95


def test_fit_assign_is_fit_then_assign():
    table = _blobs()
    model = JourneyArchetypes(random_state=0)
    assigned = model.fit_assign(table)
    assert_frame_equal(assigned, model.assign(table))
    assert assigned["archetype_name"].to_list() == [model.names_[i] for i in model.labels_]


def test_same_seed_same_archetypes_and_names():
    a, b = (JourneyArchetypes(random_state=5).fit(_blobs()) for _ in range(2))
    assert (a.labels_ == b.labels_).all() and a.names_ == b.names_
    assert len(set(a.names_)) == a.n_archetypes_


def test_choice_of_k_is_the_same_on_one_thread(monkeypatch):
    """Each k is scored on its own thread with its own seed: how many threads run them must not
    change the scores. The warning filters are left as they were (they are process-wide)."""
    from cxlab import archetypes

    filters = list(archetypes.warnings.filters)
    threads = JourneyArchetypes(random_state=3).fit(_blobs()).selection_scores_
    parallel = archetypes.Parallel
    monkeypatch.setattr(archetypes, "Parallel", lambda **kw: parallel(**{**kw, "n_jobs": 1}))
    assert_frame_equal(JourneyArchetypes(random_state=3).fit(_blobs()).selection_scores_, threads)
    assert archetypes.warnings.filters == filters


def test_works_in_clone_and_pipeline():
    table = _blobs().select(pl.selectors.starts_with("share_tp_")).to_numpy()
    pipe = make_pipeline(MinMaxScaler(), clone(JourneyArchetypes(3, random_state=0)))
    assert len(set(pipe.fit_predict(table))) == 3


def test_new_customers_missing_a_touchpoint_column_are_assigned():
    table = _blobs()
    model = JourneyArchetypes(3, random_state=0).fit(table)
    next_month = table.drop("share_tp_phone").with_columns(
        pl.col("share_tp_app") + pl.col("share_tp_web") * 0
    )
    assigned = model.assign(next_month.head(5))
    assert assigned.columns == ["customer_id", "archetype", "archetype_name"] and assigned.height == 5


@pytest.mark.parametrize(
    "table",
    [
        pl.DataFrame({"share_tp_web": [1.0] * 50}),  # one touchpoint only
        pl.DataFrame({"share_tp_web": [0.5] * 50, "share_tp_store": [0.5] * 50}),  # one journey
        pl.DataFrame({"share_tp_web": [1.0, 0.0, 0.5], "share_tp_store": [0.0, 1.0, 0.5]}),  # a handful
    ],
)
def test_degenerate_data_gives_one_archetype_and_says_why(table):
    with pytest.warns(ArchetypeWarning, match="one archetype"):
        model = JourneyArchetypes(random_state=0).fit(table)
    assert model.n_archetypes_ == 1 and (model.labels_ == 0).all()


def test_clear_errors_for_bad_parameters_and_inputs():
    with pytest.raises(ValueError, match="n_archetypes must be 'auto' or an int >= 1"):
        JourneyArchetypes("five").fit(_blobs())
    with pytest.raises(ValueError, match="k_range must be"):
        JourneyArchetypes(k_range=(1, 4)).fit(_blobs())
    with pytest.raises(ValueError, match="expects shares"):
        JourneyArchetypes().fit(np.array([[-1.0, 2.0]] * 30))


def test_profiles_lift_and_retention_by_hand():
    table = pl.DataFrame(
        {
            "share_tp_store": [0.8, 0.6, 0.0, 0.2],
            "share_tp_web": [0.2, 0.4, 1.0, 0.8],
            "is_churned": [False, True, False, False],
        }
    )
    lifts, profiles = profile_archetypes(table, np.array([0, 0, 1, 1]), min_cell_size=1)
    # store: population mean 0.4; archetype 0 mean 0.7 -> lift 1.75; archetype 1 mean 0.1 -> 0.25
    store = dict(lifts.filter(feature="share_tp_store").select("archetype", "lift").iter_rows())
    assert store == {0: pytest.approx(1.75), 1: pytest.approx(0.25)}
    assert profiles["retention_rate"].to_list() == [0.5, 1.0]
    assert profiles["share"].to_list() == [0.5, 0.5]
    assert profiles["over_represented"][0].startswith("store ×1.8")  # 1.75 shown to one decimal
    assert profiles["archetype_name"][0].endswith("· store")  # web (lift 0.5) is not over-represented


def test_transition_features_by_hand(tiny):
    # c1: search -> checkout_payment -> support_team (2 transitions); c3: website -> checkout_payment
    frame = transition_features(load_dataset(tiny), top=10)
    rows = {r["customer_id"]: r for r in frame.iter_rows(named=True)}
    assert rows["c1"]["share_tr_search__checkout_payment"] == 0.5
    assert rows["c3"]["share_tr_website__checkout_payment"] == 1.0
    assert rows["c2"]["share_tr_search__checkout_payment"] == 0.0
    assert frame.width == 1 + 5  # 5 distinct transitions in the data, all kept


def test_plots_draw_on_the_given_axes():
    import matplotlib.pyplot as plt

    from cxlab import plotting
    from cxlab.archetypes import archetype_map

    table = _blobs()
    model = JourneyArchetypes(random_state=0).fit(table)
    _, axes = plt.subplots(2, 2)
    drawn = [
        plotting.plot_selection_scores(model.selection_scores_, ax=axes[0, 0]),
        plotting.plot_archetype_sizes(model.profiles_, ax=axes[0, 1]),
        plotting.plot_archetype_lifts(model.lifts_, model.names_, ax=axes[1, 0]),
        plotting.plot_archetype_map(*archetype_map(model, table), model.names_, ax=axes[1, 1]),
    ]
    assert drawn == list(axes.flat)
    assert len(axes[1, 1].collections) == model.n_archetypes_  # one scatter per archetype
    plt.close("all")


def test_archetypes_for_reuses_the_runs_table_only_when_it_covers_every_customer(tmp_path):
    from cxlab.rundir import RunDir
    from cxlab.session import archetypes_for

    table = _blobs()
    fitted = archetypes_for(table, tmp_path, random_state=0)  # no table yet: fitted here
    assert fitted.height == 120 and fitted["archetype_name"].n_unique() == 3
    RunDir(tmp_path).write_table(
        "archetypes.csv", fitted.with_columns(pl.lit("from the run").alias("archetype_name"))
    )
    assert set(archetypes_for(table, tmp_path)["archetype_name"]) == {"from the run"}
    RunDir(tmp_path).write_table("archetypes.csv", fitted.head(100))  # stale: misses 20 customers
    assert (
        archetypes_for(table, tmp_path, random_state=0)["customer_id"].to_list()
        == table["customer_id"].to_list()
    )


def test_profiles_say_what_they_mean():
    rng = np.random.default_rng(0)
    n = 400
    labels = np.repeat([0, 1], n // 2)
    store = np.where(labels == 0, rng.uniform(0.5, 0.9, n), rng.uniform(0.0, 0.3, n))
    stray = np.zeros(n)
    stray[0] = 0.05  # one customer with a label nobody else has: an enormous lift
    table = pl.DataFrame(
        {"share_tp_store": store, "share_tp_web": 1 - store - stray, "share_tp_stray": stray}
    )
    lifts, profiles = profile_archetypes(table, labels, min_cell_size=30)
    assert "stray" not in " ".join(profiles["archetype_name"]) and "stray" not in lifts["feature"].to_list()
    for row in profiles.iter_rows(named=True):  # over-represented means lift above 1, under below
        over = [float(x.split("×")[1]) for x in row["over_represented"].split(", ") if x]
        under = [float(x.split("×")[1]) for x in row["under_represented"].split(", ") if x]
        assert all(lift > 1 for lift in over) and all(lift < 1 for lift in under)
    assert profiles["archetype_name"].n_unique() == profiles.height
