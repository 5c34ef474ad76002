"""The built-in catalog covers the common touchpoints and obeys the contract's catalog rules."""

from cxlab.catalog import default_catalog
from cxlab.schema import KINDS, STAGES


def test_catalog_rows_are_valid():
    catalog = default_catalog()
    assert catalog["touchpoint"].is_unique().all()
    assert set(catalog["stage"]) <= set(STAGES) and set(catalog["kind"]) <= set(KINDS)
    assert catalog["channel"].null_count() == 0


def test_catalog_covers_before_during_and_after_purchase():
    stage = dict(default_catalog().select("touchpoint", "stage").iter_rows())
    before = [
        "social_media",
        "ratings_reviews",
        "testimonials",
        "word_of_mouth",
        "community_involvement",
        "advertising",
        "marketing_pr",
        "search",
    ]
    during = [
        "store",
        "website",
        "catalog",
        "promotions",
        "staff_sales",
        "phone_system",
        "point_of_sale",
        "checkout_payment",
        "mobile_app",
    ]
    after = [
        "billing",
        "transactional_email",
        "marketing_email",
        "delivery",
        "support_team",
        "live_chat",
        "help_center",
        "follow_up",
        "thank_you_card",
        "loyalty_program",
        "feedback_survey",
    ]
    assert all(stage[t] in {"awareness", "consideration"} for t in before)
    assert all(stage[t] in {"consideration", "purchase"} for t in during)
    assert all(stage[t] == "post_purchase" for t in after)
