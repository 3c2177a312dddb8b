import Foundation
import FunnelData

/// `FeatureMap.encodeRow` (serving) with a map fitted once on a small table, over arbitrary fields: the input is
/// split at commas into fields (any count).
private let featureMap: FeatureMap = {
    let schema = try! DatasetSchema.decode(Data("""
        name: fuzz
        files: [rows.csv]
        features:
          - {name: city, kind: categorical}
          - {name: tags, kind: multiValued, separator: "|", maxLength: 3}
          - {name: age, kind: numeric, fillNA: 0}
          - {name: income, kind: numeric, bucketize: {boundaries: [10, 100]}}
        tasks: [{name: y, kind: binary, label: y}]
        """.utf8), name: "fuzz.yaml")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-fuzz-\(getpid())")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try! Data("city,tags,age,income,y\nparis,a|b,3,5,1\nrome,b,,50,0\noslo,c|a|b,7,500,1\n".utf8)
        .write(to: directory.appendingPathComponent("rows.csv"))
    return try! PreparedDataset.prepare(schema, options: .init(dataDirectory: directory)).featureMap
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEncodeRow(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    _ = try? featureMap.encodeRow(fields)
    _ = try? featureMap.encodeRow(named: Dictionary(zip(["city", "tags", "age", "income"], fields), uniquingKeysWith: { a, _ in a }))
    return 0
}
