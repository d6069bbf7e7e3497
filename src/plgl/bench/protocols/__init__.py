"""The peers' evaluation protocols, re-implemented with their own metric definitions, with plgl
as the learner: `prefgen` (PrefGen's ideal-point localisation), `qeubo` (preferential BO as in
the qEUBO paper) and `koyama` (Koyama et al.'s sequential line / plane galleries)."""
