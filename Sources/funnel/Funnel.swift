import ArgumentParser

/// The `funnel` command: multi-task learning of multi-step conversions.
@main
struct Funnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "Multi-task learning of multi-step conversions (impression → click → conversion → amount).",
        subcommands: [Compare.self, Train.self, Eval.self, Predict.self, Serve.self, Bench.self, DataCommand.self, Synth.self])
}
