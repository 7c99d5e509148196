"""Valid calls of the redrawn-in-place widgets' states and helpers (notebooks 03 and 04)."""

from matplotlib.figure import Figure

from bad_input_cases import Case
from course_gen.widgets import _figure_view as fv
from course_gen.widgets import flows as fw
from course_gen.widgets import masks as mw
from course_gen.widgets import receptive_field as rw

_mask_viewer = mw.MaskViewer()
_rf_viewer = rw.ReceptiveFieldViewer((6, 6), hidden_channels=4)
_probe = rw.FieldProbe(rw.random_model("PixelCNN", 2, 3, 4), (6, 6))
_coupling = fw.CouplingMaskViewer(3)
_playground = fw.FlowPlayground(n=21)
_ax = Figure().add_subplot()

CASES = [
    Case(mw.MaskViewer.show, {"self": _mask_viewer, "view": "MADE", "n_inputs": 4, "ordering": "random", "seed": 1,
                              "kernel_size": 5, "colour": True}, extra_bad={"kernel_size": {"even": 4}}),
    Case(mw.MaskViewer.png, {"self": _mask_viewer}),
    Case(fv.KeptLiveFigure, {"figure": Figure(), "key": lambda: 0, "size": 4},
         extra_bad={"figure": {"not a figure": 3}, "key": {"not callable": 3}}),
    Case(fv.TextStamps, {"ax": _ax, "ha": "right", "va": "top", "shift": (1.0, -2.0)},
         extra_bad={"ax": {"not axes": 3}, "shift": {"three numbers": (1.0, 2.0, 3.0)}}),
    Case(fv.TextStamps.show, {"self": fv.TextStamps(_ax), "texts": ["1", "22"], "positions": [(0, 0), (1, 1)],
                              "size": 9.0, "colours": "black"},
         extra_bad={"positions": {"one for two texts": [(0, 0)]}}),
    Case(rw.ReceptiveFieldViewer, {"shape": (6, 6), "hidden_channels": 4}, extra_bad={"shape": {"3 entries": (6, 6, 6)}}),
    Case(rw.ReceptiveFieldViewer.show, {"self": _rf_viewer, "model": "PixelCNN", "kernel_size": 3, "n_layers": 2,
                                        "row": 3, "col": 2}, extra_bad={"row": {"outside": 6}, "kernel_size": {"even": 4}}),
    Case(rw.FieldProbe, {"model": rw.random_model("Gated PixelCNN", 1, 3, 4), "shape": (5, 5), "seed": 0},
         extra_bad={"model": {"not a model": 3}}),
    Case(rw.FieldProbe.field, {"self": _probe, "pixel": (3, 3)}, extra_bad={"pixel": {"outside": (6, 0), "one": (3,)}}),
    Case(rw.FieldProbe.nominal, {"self": _probe, "pixel": (3, 3)}, extra_bad={"pixel": {"outside": (0, 6)}}),
    Case(fw.CouplingMaskViewer, {"max_layers": 2}),
    Case(fw.CouplingMaskViewer.show, {"self": _coupling, "n_layers": 2, "alternate": False},
         extra_bad={"n_layers": {"more than max_layers": 4}}),
    Case(fw.FlowPlayground, {"n": 21, "limit": 3.0}),
    Case(fw.FlowPlayground.show, {"self": _playground, "kind": "radial", "params": {"alpha": 0.5, "beta": 1.0},
                                  "strength": 0.5}, extra_bad={"strength": {"above 1": 1.5}, "params": {"planar keys": {"u": (1.0, 0.0)}}}),
    Case(fw.play_strength, {"frame": 3, "frames": 10}, extra_bad={"frame": {"beyond 2 frames": 21}}),
]
