"""\"Build my assistant\": the whole pipeline in one go, its release gates and model choice.

``plan`` says what each stage will do on this machine and how long it should take,
``state`` remembers what is done (in the project, so a closed app or a restarted machine
continues where it stopped), ``gates`` judges a trained model's stored evaluation answers
against the operator's release gates, ``select`` keeps the best model that passes them, and
``job`` runs the stages as one background job (``python -m core.jobs build``).
"""
