"""Comment topics recovered from comments written from planted topics."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from cxlab.comments import CommentTopics, score_sentiment
from cxlab.synthetic import COMMENT_TOPICS, make_comments


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_planted_topics_are_grouped_back(seed):
    comments = make_comments(4_000, random_state=seed)
    model = CommentTopics(random_state=seed).fit(comments["comment"])
    found = model.predict(comments["comment"])
    ari = adjusted_rand_score(comments["topic"], found)
    # Bar 0.7 (the issue's): measured 0.92 and 0.81 (seeds 0, 1). "auto" may split one
    # planted topic in two ("price" into value-for-money and price rises), which costs ARI but
    # is a finding an analyst can use; merging two planted topics would cost far more.
    assert ari >= 0.7, (ari, model.topic_names_, model.selection_scores_)
    assert len(COMMENT_TOPICS) <= model.n_topics_ <= len(COMMENT_TOPICS) + 2
    # Each planted topic keeps at least half of its comments in one found topic, so a near-
    # duplicate term cannot become a finding of its own; measured: 0.98-1.0, price 0.63 and 0.58.
    for topic in COMMENT_TOPICS:
        own = found[(comments["topic"] == topic).to_numpy()]
        assert max((own == t).mean() for t in set(own)) >= 0.5, topic


def test_planted_polarity_is_read_back_from_the_generated_comments():
    comments = make_comments(2_000, random_state=0)
    predicted = score_sentiment(comments["comment"])["sentiment_class"]
    # Our own templates, so a sanity check more than a measure (the hand-labelled comments in
    # tests/unit/test_comments.py are the measure): measured 0.95.
    assert (predicted == comments["polarity"]).mean() >= 0.9
