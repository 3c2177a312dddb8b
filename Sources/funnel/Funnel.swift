import ArgumentParser

/// The `funnel` command: multi-task learning of multi-step conversions.
struct Funnel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel",
        abstract: "Multi-task learning of multi-step conversions (impression → click → conversion → amount).",
        subcommands: [Compare.self, Tune.self, Train.self, Report.self, Eval.self, Predict.self, Serve.self, Export.self, Bench.self,
                      DataCommand.self, Synth.self])
}
