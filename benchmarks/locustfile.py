"""Simulated swipers for locust: each signs up, then swipes its feed like a quick human would,
now and then opening "For you", "Perfect match", a which-of-two question or its status.

The feed is `POST /api/feed` (items to rate); with PLGL_LOAD_FEED=cards it is what the web app
asks, `POST /api/cards` (a swipe card is rated, a pair card answered with `POST /api/compare`;
on faces about half the cards are champion duels after 40 answers).

PLGL_LOAD_WAIT="LO,HI" sets the think time between a user's actions, uniform in seconds (default
0.3,1.2: a quick swiper; a person who looks at each face takes longer).

The users are `FastHttpUser`s (geventhttpclient, keep-alive): they take a fraction of the CPU
that requests-based users take, and the load generator shares the server's cores.

    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000   (see serve_load.py)
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import Any

from locust import FastHttpUser, between, task

SIGNALS = ["like", "dislike", "dislike", "skip", "superlike"]
CARDS = os.environ.get("PLGL_LOAD_FEED", "feed") == "cards"
WAIT = [float(s) for s in os.environ.get("PLGL_LOAD_WAIT", "0.3,1.2").split(",")]


class Swiper(FastHttpUser):
    """One person: a bearer token and the batch of cards their client holds."""

    wait_time = between(WAIT[0], WAIT[1])  # the server allows 10 ratings a second

    def on_start(self) -> None:
        token = self.client.post("/api/users", name="/api/users").json()["token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.queue: list[list[dict[str, Any]]] = []  # cards: one item, or two
        self.client.get("/api/domain", name="/api/domain")

    def _items(self, n: int) -> list[dict[str, Any]]:
        response = self.client.post(f"/api/feed?n={n}", name="/api/feed", headers=self.auth)
        items: list[dict[str, Any]] = response.json()["items"] if response.ok else []
        return items

    def _cards(self, n: int) -> list[list[dict[str, Any]]]:
        response = self.client.post(f"/api/cards?n={n}", name="/api/cards", headers=self.auth)
        cards: list[dict[str, Any]] = response.json()["cards"] if response.ok else []
        return [card["items"] for card in cards]

    def _content(self, item: dict[str, Any]) -> None:
        url = next(iter(item["content"].values()))
        self.client.get(url, name="/api/items/[id]/content", headers=self.auth)

    @task(12)
    def swipe(self) -> None:
        """Answer the card on screen (a rating with an event id and dwell time, or the choice
        of a pair or choice card), show the next one.

        The requests together are what the person waits for: reported as the flow
        "rate, then next card" beside the endpoints.
        """
        if len(self.queue) < 5:
            self.queue += self._cards(5) if CARDS else [[item] for item in self._items(10)]
        if len(self.queue) < 2:
            return
        card = self.queue.pop(0)
        start = time.perf_counter()
        if len(card) == 1:
            body = {
                "item_id": card[0]["id"],
                "signal": random.choice(SIGNALS),
                "dwell_seconds": round(random.uniform(0.3, 6.0), 2),
                "event_id": uuid.uuid4().hex,
            }
            rated = self.client.post(
                "/api/feedback", json=body, name="/api/feedback", headers=self.auth
            )
        else:  # a pair, or a choice among several: one of them over the rest
            chosen = random.sample(card, len(card))
            body = {
                "preferred_id": chosen[0]["id"],
                "other_id": chosen[1]["id"],
                "others": [item["id"] for item in chosen[2:]],
            }
            rated = self.client.post(
                "/api/compare", json=body, name="/api/compare", headers=self.auth
            )
        for item in self.queue[0]:
            self._content(item)
        self.environment.events.request.fire(
            request_type="FLOW",
            name="rate, then next card",
            response_time=1000 * (time.perf_counter() - start),
            response_length=0,
            exception=None if rated.ok else RuntimeError(f"rating answered {rated.status_code}"),
            context={},
        )

    @task(1)
    def which_of_two(self) -> None:
        pair = self._items(2)
        if len(pair) == 2:
            for item in pair:
                self._content(item)
            body = {"preferred_id": pair[0]["id"], "other_id": pair[1]["id"]}
            self.client.post("/api/compare", json=body, name="/api/compare", headers=self.auth)

    @task(1)
    def for_you(self) -> None:
        response = self.client.get(
            "/api/recommendations?k=6", name="/api/recommendations", headers=self.auth
        )
        for item in response.json()["items"][:3] if response.ok else []:
            self._content(item)

    @task(1)
    def perfect_match(self) -> None:
        target = random.choice([0.3, 0.5, 0.7, 0.9])
        self.client.get(f"/api/reverse?target={target}&n=4", name="/api/reverse", headers=self.auth)

    @task(1)
    def status(self) -> None:
        self.client.get("/api/me", name="/api/me", headers=self.auth)
