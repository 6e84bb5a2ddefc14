"""The initial path of the NEB: geodesic, or decoded from a spin VAE's latent line (rule transitions_initial_path)."""

from latentopt.device import resolve_device
from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import transitions

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
kind = sm.wildcards.path_kind
path = transitions.make_initial_path(sm.input.end_states, {"images": sm.params.images}, kind,
                                     sm.input.vae if kind == "latent" else None,
                                     device=resolve_device(sm.params.device))
log.info("%s initial path of %d images; W along it %s", kind, len(path["path"]), path["W"].round(2).tolist())
write_h5(sm.output[0], path, attrs=dict(kind=kind, images=sm.params.images))
