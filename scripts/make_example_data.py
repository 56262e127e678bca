"""Write the example datasets that ship with BrewSLM (our own text, generated from templates).

    python scripts/make_example_data.py        # rewrites src/brewslm/examples/*.jsonl

The sentiment set is product and service reviews with a `review` text and a `rating` label
("positive" / "negative"). A few rows are deliberately messy, as real exports are: a truncated
JSON line, a row with no label, an exact duplicate, a numeric text value. The import pipeline
rejects or de-duplicates them with a reason, which the quickstart shows.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "brewslm" / "examples"

PRODUCTS = {
    "headphones": (["the sound", "the noise cancelling", "the battery life", "the ear cushions", "the bluetooth pairing"],),
    "coffee maker": (["the brew temperature", "the water tank", "the grinder", "the timer", "the carafe"],),
    "hiking boots": (["the grip", "the ankle support", "the waterproofing", "the laces", "the sizing"],),
    "hotel stay": (["the room", "the front desk staff", "the breakfast", "the bed", "the location"],),
    "banking app": (["the login", "the transfer screen", "the notifications", "the support chat", "the card controls"],),
    "pizza delivery": (["the crust", "the delivery time", "the toppings", "the driver", "the order tracking"],),
    "laptop": (["the keyboard", "the screen", "the fan noise", "the battery", "the trackpad"],),
    "yoga class": (["the instructor", "the pacing", "the studio", "the playlist", "the booking system"],),
    "running shoes": (["the cushioning", "the fit", "the weight", "the sole", "the breathability"],),
    "phone case": (["the fit", "the buttons", "the drop protection", "the grip", "the colour"],),
}

POSITIVE = [
    "{a} is excellent", "{a} works perfectly", "{a} exceeded my expectations", "{a} is a real pleasure",
    "I love {a}", "{a} is better than I hoped", "{a} has been flawless for weeks", "{a} is superb",
    "honestly, {a} is not bad at all", "{a} is reliable and well made", "{a} made my day",
    "{a} is comfortable and sturdy", "no complaints about {a}", "{a} is worth every penny",
]
NEGATIVE = [
    "{a} is terrible", "{a} stopped working after two days", "{a} is a huge disappointment",
    "I regret paying for {a}", "{a} is worse than the cheap one I had", "{a} broke almost immediately",
    "{a} is flimsy and badly made", "{a} is not worth the money", "{a} keeps failing",
    "{a} is painfully slow", "I would not recommend {a} to anyone", "{a} is uncomfortable",
    "{a} ruined the whole experience", "{a} is a waste of time",
]
OPENERS = ["", "Bought the {p} last month. ", "Second {p} from this brand. ", "Quick review of the {p}: ",
           "We tried the {p} for a week. ", "Update on my {p}: "]
POS_CLOSERS = ["", " Would buy again.", " Five stars.", " Highly recommended!", " Very happy overall."]
NEG_CLOSERS = ["", " Returning it.", " One star.", " Avoid.", " Very unhappy overall."]
MIXED_POS = ["{a1} is a bit plain, but {a2} is fantastic and that is what matters.",
             "I expected problems with {a1}, yet everything about {a2} turned out great."]
MIXED_NEG = ["{a1} looks nice, but {a2} is so bad that I cannot use it.",
             "I wanted to like {a1}, however {a2} is a constant headache."]


def sentiment_rows(n: int = 400, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        product = rng.choice(sorted(PRODUCTS))
        aspects = PRODUCTS[product][0]
        positive = rng.random() < 0.5
        opener = rng.choice(OPENERS).format(p=product)
        if rng.random() < 0.15:
            a1, a2 = rng.sample(aspects, 2)
            body = rng.choice(MIXED_POS if positive else MIXED_NEG).format(a1=a1, a2=a2)
            body = body[0].upper() + body[1:]
        else:
            clause = rng.choice(POSITIVE if positive else NEGATIVE).format(a=rng.choice(aspects))
            body = clause[0].upper() + clause[1:] + "."
        closer = rng.choice(POS_CLOSERS if positive else NEG_CLOSERS)
        text = f"{opener}{body}{closer}".strip()
        if text in seen:
            continue
        seen.add(text)
        rows.append({"id": f"r{len(rows) + 1:04d}", "product": product, "review": text,
                     "rating": "positive" if positive else "negative"})
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = sentiment_rows()
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    # Messy rows, as real exports have them: each is rejected or de-duplicated with a reason.
    lines.insert(57, '{"id": "r9001", "product": "laptop", "review": "The screen is superb and')  # truncated
    lines.insert(120, json.dumps({"id": "r9002", "product": "hotel stay", "review": "The room was fine."}))
    lines.insert(200, lines[10])  # exact duplicate of an earlier row
    lines.insert(260, json.dumps({"id": "r9003", "product": "laptop", "review": 4.5, "rating": "positive"}))
    (OUT / "sentiment_reviews.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} lines to {OUT / 'sentiment_reviews.jsonl'}")


if __name__ == "__main__":
    main()
