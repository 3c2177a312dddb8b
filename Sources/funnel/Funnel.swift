import ArgumentParser

/// The `funnel` command: multi-task learning of multi-step conversions.
struct Funnel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "Multi-task learning of multi-step conversions (impression → click → conversion → amount).",
        subcommands: [Compare.self, Train.self, Report.self, Eval.self, Predict.self, Bench.self, DataCommand.self, Synth.self])
}
