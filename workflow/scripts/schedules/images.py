"""The image data set of a KL-schedule study (rule schedules_images)."""

from latentopt.io import write_h5
from latentopt.scripting import setup
from latentopt.studies import schedules

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.wildcards.study)
datasets, attrs = schedules.images(sm.params.data)
log.info("%d images of %s px, labels %s; %d in the BO subset", len(datasets["labels"]), datasets["images"].shape[1:],
         sorted(set(datasets["labels"].tolist())), len(datasets["train_index"]))
write_h5(sm.output[0], datasets, attrs=attrs)
