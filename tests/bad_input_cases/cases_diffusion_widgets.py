"""Valid calls of course_gen.widgets.diffusion (notebook 08's t-slider and transport playground)."""

import torch

from bad_input_cases import Case
from course_gen.diffusion import DDPM
from course_gen.diffusion.toy import FlowMatching, ToyDiffusion
from course_gen.widgets import diffusion as dw

torch.manual_seed(0)
_ddpm = DDPM(T=50, channels=8)
_digits = (torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.6).float()
_viewer = dw.DiffusionViewer(_ddpm, _digits, seed=0)
_flow, _toy = FlowMatching(hidden=8, seed=0), ToyDiffusion(T=10, hidden=8, seed=0)
_points = torch.randn(40, 2, generator=torch.Generator().manual_seed(1))
_playground = dw.TransportPlayground(_toy, _points, n=20, steps=4, grid=4)
_viewer_bad = {
    "model": {"not a DDPM": torch.nn.Linear(2, 2), "a transport model": _flow},
    "images": {"above 1": 2 * _digits, "14 x 14": torch.zeros(2, 1, 14, 14), "13 digits": torch.zeros(13, 1, 28, 28)},
    "steps": {"beyond T": [1, 51], "one step": [5], "not a list": "10"},
}
_transport = {"model": _flow, "data": _points, "n": 20, "steps": 4, "seed": 0, "grid": 4}
_transport_bad = {"model": {"a DDPM": _ddpm, "nothing": None}, "steps": {"none": 0},
                  "data": {"3-D points": torch.zeros(5, 3)}}

CASES = [
    Case(dw.slider_steps, {"T": 1000, "count": 60}, extra_bad={"T": {"one step": 1}}),
    Case(dw.DiffusionViewer, {"model": _ddpm, "images": _digits, "steps": [1, 10, 50], "seed": 0},
         extra_bad=_viewer_bad),
    Case(dw.diffusion_viewer, {"model": _ddpm, "images": _digits, "steps": [1, 10, 50], "seed": 0},
         extra_bad=_viewer_bad),
    Case(dw.DiffusionViewer.show, {"self": _viewer, "t": 7}, extra_bad={"t": {"0": 0, "T + 1": 51}}),
    Case(dw.DiffusionViewer.noisy, {"self": _viewer, "t": 7}, extra_bad={"t": {"T + 1": 51}}),
    Case(dw.DiffusionViewer.predicted_x0, {"self": _viewer, "t": 7}, extra_bad={"t": {"T + 1": 51}}),
    Case(dw.DiffusionViewer.snr, {"self": _viewer, "t": 7}, extra_bad={"t": {"0": 0}}),
    Case(dw.DiffusionViewer.readout, {"self": _viewer, "t": 7}, extra_bad={"t": {"0": 0}}),
    Case(dw.DiffusionViewer.png, {"self": _viewer}),
    Case(dw.TransportPlayground, {**_transport, "stochastic": False, "limit": 3.0},
         extra_bad={**_transport_bad, "stochastic": {"SDE of a flow": True}, "limit": {"tiny": 0.1}}),
    Case(dw.transport_playground, {**_transport, "interval_ms": 200},
         extra_bad={**_transport_bad, "interval_ms": {"0": 0}}),
    Case(dw.TransportPlayground.show, {"self": _playground, "frame": 2}, extra_bad={"frame": {"past the end": 5}}),
    Case(dw.TransportPlayground.step, {"self": _playground}),
    Case(dw.TransportPlayground.set_mode, {"self": _playground, "stochastic": True}),
    Case(dw.TransportPlayground.set_seed, {"self": _playground, "seed": 1}),
    Case(dw.TransportPlayground.path, {"self": _playground, "stochastic": True, "seed": 2}),
    Case(dw.TransportPlayground.png, {"self": _playground}),
]
