"""What a user is shown: candidates kept until stale, latents found by navigation, each outside
the never-show region, with content made (or found in the cache) only for what is shown."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import UnsafeRegionError
from plgl.feed_duels import DuelCards
from plgl.grounding import informed
from plgl.models import BasePreferenceModel, confidence
from plgl.navigation import ContentJudge, best_latents, farthest_points, latents_at
from plgl.records import Item, new_item_id
from plgl.samplers import BaseSampler, next_candidates
from plgl.samplers.cards import plan_cards, swipes_due
from plgl.samplers.pairs import pair_proposals

if TYPE_CHECKING:
    from plgl.engine import Engine
    from plgl.grounding import Grounding

SAFE_TRIES = 20  # proposals tried before a region is declared unreachable outside the marked one
NEAR_BEST = 10  # grounded candidates (near the best-rated items) added to each fresh pool


class Feed(DuelCards):
    """One user's unshown candidates and the items served to them (the duel and favourite
    cards among them: `plgl.feed_duels`)."""

    def __init__(self, engine: Engine, user_id: str, grounding: Grounding) -> None:
        self.engine = engine
        self.user_id = user_id
        self.grounding = grounding
        self._pool: list[Item] = []
        self._pool_rating = 0  # the number of ratings when the pool was proposed
        self._for_you: tuple[Hashable, int, list[Item]] | None = None  # (version, n, items)

    def next(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
    ) -> list[Item]:
        """The next `n` items to show (stored as served), chosen by `sampler` from the pool."""
        self._refresh(model, n, n_ratings, sampler, rng)
        latents = np.array([item.latent for item in self._pool])
        picks, sources = sampler.select(model, latents, n, rng)
        return self._take(self._pool, picks.tolist(), list(sources))

    def cards(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
        swipes: int,
        duels: bool = True,
    ) -> list[tuple[Item, ...]]:
        """The next `n` cards (one item: a swipe; two: a comparison, the likelier liked first;
        up to `DUEL_CARD`: a champion duel, in random order), stored as served: duels
        (`plgl.duels`, unless `duels` is False) once the user has rated something positively,
        and `plgl.samplers.cards.plan_cards` among the pool and twin latents made to be
        compared (`pair_proposals`) for the rest; all outside the never-show region. A user
        whose prior is a population's (`plgl.grounding.informed`) gets favourite cards instead
        once they have a favourite (`_favourite_cards`)."""
        grounded = self.grounding.applies(model)
        if grounded and informed(model):
            favourite_cards = self._favourite_cards(model, n, n_ratings, sampler, rng)
            if favourite_cards:
                return favourite_cards
        made = self._duels(model, n, n_ratings, rng) if grounded and duels else []
        if len(made) == n:
            return made
        n_rest = n - len(made)
        candidates, latents = self._comparable(model, n_rest, n_ratings, sampler, rng)
        due = swipes_due(confidence(model, n_ratings), n_rest, rng)
        plan = plan_cards(model, latents, n_rest, sampler, rng, swipes=swipes, min_swipes=due)
        rows = [row for card, _ in plan for row in card]
        sources = [source for card, source in plan for _ in card]
        chosen = iter(self._take(candidates, rows, sources))
        cards = made + [tuple(next(chosen) for _ in card) for card, _ in plan]
        return [cards[i] for i in rng.permutation(len(cards))]

    def _comparable(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
    ) -> tuple[list[Item], np.ndarray]:
        """Candidates for `n` comparison cards: the pool (refreshed), then twin latents made
        to be compared (`pair_proposals`) outside the never-show region; and their (m, d)
        latents."""
        self._refresh(model, n, n_ratings, sampler, rng)
        twins = pair_proposals(model, self.engine.generator, n, rng)
        contents = self._contents(twins) if self.engine.safety.needs_content else None
        safe = np.flatnonzero(~self.engine.safety.unsafe_mask(twins, contents))
        candidates = self._pool + [
            Item(new_item_id(), twins[i], None if contents is None else contents[i]) for i in safe
        ]
        return candidates, np.array([item.latent for item in candidates])

    def _take(self, candidates: list[Item], rows: list[int], sources: list[str]) -> list[Item]:
        """Serve `candidates[rows]` (the pool first, then any extras) with `sources`: content
        made, stored as served, and gone from the pool."""
        chosen = self._made(
            [_with_source(candidates[i], s) for i, s in zip(rows, sources, strict=True)]
        )
        taken = set(rows)
        self._pool = [item for i, item in enumerate(self._pool) if i not in taken]
        self.engine.storage.put_items(self.user_id, chosen)
        return chosen

    def clear(self) -> None:
        self._pool = []
        self._for_you = None

    def recommend(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        rng: np.random.Generator,
        version: Hashable | None = None,
    ) -> list[Item]:
        """The `n` items of "For you" (served): grounded where the model allows
        (`plgl.grounding`), else the best reachable; none in the never-show region.

        `version` names everything the answer depends on besides `n` (the caller's events read
        and the model's changes; `rng` must be a function of it): asked again for the same
        version and `n`, the items of the last answer are given again, while storage still
        holds them, instead of being computed anew (the grounded answer decodes tens of
        latents). None computes it every time."""
        if version is not None and self._for_you is not None:
            seen, seen_n, items = self._for_you
            if seen == version and seen_n == n and self._stored(items):
                return list(items)
        items = self._recommend(model, n, n_ratings, rng)
        self._for_you = None if version is None else (version, n, items)
        return list(items)

    def _stored(self, items: list[Item]) -> bool:
        """Whether the user still holds every one of `items` (unrated items expire)."""
        ids = [item.id for item in items]
        return len(self.engine.storage.item_latents(self.user_id, ids)) == len(set(ids))

    def _recommend(
        self, model: BasePreferenceModel, n: int, n_ratings: int, rng: np.random.Generator
    ) -> list[Item]:
        if not self.grounding.applies(model):
            return self.serve(self.safe_latents(model, None, n, rng), "recommend")
        latents, sources = self.grounding.best(model, n, n_ratings, rng)
        contents = self._contents(latents)
        safety = self.engine.safety
        safe = ~safety.unsafe_mask(latents, contents if safety.needs_content else None)
        items = [
            Item(new_item_id(), latents[i], contents[i], sources[i]) for i in np.flatnonzero(safe)
        ]
        self.engine.storage.put_items(self.user_id, items)
        if len(items) < n:  # the rest from the model's best, outside the marked region
            items += self.serve(self.safe_latents(model, None, n - len(items), rng), "recommend")
        return items

    def safe_latents(
        self,
        model: BasePreferenceModel,
        target_logit: float | None,
        n: int,
        rng: np.random.Generator,
        n_ratings: int | None = None,
    ) -> np.ndarray:
        """(n, d) diverse shell latents at a target log-odds (None: the best reachable), none in
        the never-show region. With `n_ratings`, a target above the favourite's stays within
        the trust region of the best-rated items where the model allows (`plgl.grounding`)."""
        generator, safety = self.engine.generator, self.engine.safety
        found: list[np.ndarray] = []
        if n_ratings is not None and target_logit is not None and self.grounding.applies(model):
            grounded = self.grounding.at(model, target_logit, n, n_ratings, rng)
            if grounded is not None:
                contents = self._contents(grounded) if safety.needs_content else None
                found.extend(grounded[~safety.unsafe_mask(grounded, contents)])
                if len(found) >= n:
                    return np.array(found[:n])
        for attempt in range(SAFE_TRIES):
            want = 4 * n * (attempt + 1)
            if target_logit is None:
                latents = best_latents(model, generator, want, rng)
            else:
                latents = latents_at(model, generator, target_logit, want, rng)
            contents = self._contents(latents) if safety.needs_content else None
            found.extend(latents[~safety.unsafe_mask(latents, contents)])
            if len(found) >= n:
                break
        if len(found) < n:
            raise UnsafeRegionError(
                f"only {len(found)} of {n} latents at this score lie outside the marked region"
            )
        pool = np.array(found)
        if target_logit is None:
            pool = pool[np.argsort(-model.decision_function(pool), kind="stable")]
        return pool[farthest_points(pool, n)] if n > 1 else pool[:1]

    def serve(self, latents: np.ndarray, source: str) -> list[Item]:
        """Items for latents (n, d), with content, stored as served to the user."""
        contents = self._contents(latents)
        items = [
            Item(new_item_id(), latent, c, source)
            for latent, c in zip(latents, contents, strict=True)
        ]
        self.engine.storage.put_items(self.user_id, items)
        return items

    def _refresh(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
    ) -> None:
        """Propose the pool afresh when it is short of `n` items or stale."""
        if len(self._pool) < n or sampler.is_stale(n_ratings - self._pool_rating, n_ratings):
            self._pool = self._fresh(model, n_ratings, sampler, rng)
            self._pool_rating = n_ratings

    def _fresh(
        self,
        model: BasePreferenceModel,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
    ) -> list[Item]:
        """Pool items for this model plus fresh proposals (their share rising with the model's
        confidence), filtered for safety. Content is made when an item is chosen (`_made`),
        except where the safety check must see it first."""
        engine = self.engine
        for _ in range(SAFE_TRIES):
            latents = next_candidates(
                sampler,
                model,
                engine.generator,
                engine.cache,
                self.user_id,
                rng,
                safety=engine.safety,
                served=lambda: engine.storage.items(self.user_id),
                confidence=confidence(model, n_ratings),
            )
            if self.grounding.applies(model):  # the exploit share also sees the best-rated's
                near = self.grounding.near_best(model, NEAR_BEST, n_ratings, rng)
                latents = np.vstack([latents, near])
            contents = self._contents(latents) if engine.safety.needs_content else None
            safe = ~engine.safety.unsafe_mask(latents, contents)
            if safe.any():
                return [
                    Item(new_item_id(), latents[i], None if contents is None else contents[i])
                    for i in np.flatnonzero(safe)
                ]
        raise UnsafeRegionError("every candidate proposed lies in the marked never-show region")

    def _made(self, items: list[Item]) -> list[Item]:
        """`items` with content, made in one batch (or found in the cache) where it is None."""
        todo = [i for i, item in enumerate(items) if item.content is None]
        if not todo:
            return items
        made = iter(self._contents(np.array([items[i].latent for i in todo])))
        return [
            Item(item.id, item.latent, next(made), item.source) if item.content is None else item
            for item in items
        ]

    def _contents(self, latents: np.ndarray) -> list[Any]:
        """Content of latents (n, d) from the cache; only what it lacks is generated. The
        content judge keeps the maps the generator made with it (`keep_decoded`)."""
        contents = self.engine.cache.contents(latents, self.user_id)
        if isinstance(self.grounding.judge, ContentJudge) and len(latents):
            self.grounding.judge.keep_decoded(latents)
        return contents


def _with_source(item: Item, source: str) -> Item:
    return Item(item.id, item.latent, item.content, source)
