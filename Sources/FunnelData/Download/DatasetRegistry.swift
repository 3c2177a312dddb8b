import Foundation

/// One file of a public dataset: where to fetch it and what it must hash to.
public struct RemoteFile: Sendable, Equatable {
    public var url: URL
    /// Name of the file on disk.
    public var fileName: String
    /// Expected SHA-256 of the file as served (64 lowercase hex digits).
    public var sha256: String
    /// Expected length in bytes, if known (lets a download skip a request when the `.part` file is complete).
    public var byteCount: Int64?

    public init(url: URL, fileName: String? = nil, sha256: String, byteCount: Int64? = nil) {
        self.url = url
        self.fileName = fileName ?? url.lastPathComponent
        self.sha256 = sha256.lowercased()
        self.byteCount = byteCount
    }
}

/// A public dataset Funnel knows: downloadable files with checksums, or instructions when the data sits behind
/// a login and must be fetched by hand.
public struct RemoteDataset: Sendable, Equatable {
    public var name: String
    public var title: String
    public var homepage: URL
    public var license: String
    /// Files fetched by `DatasetDownloader`; empty for manual datasets.
    public var files: [RemoteFile]
    /// For data that cannot be fetched automatically: what to download and from where.
    public var manualDownload: String?
    /// Provenance of the checksums and anything a user should know.
    public var note: String?

    public init(name: String, title: String, homepage: URL, license: String, files: [RemoteFile] = [],
                manualDownload: String? = nil, note: String? = nil) {
        self.name = name
        self.title = title
        self.homepage = homepage
        self.license = license
        self.files = files
        self.manualDownload = manualDownload
        self.note = note
    }

    /// One line for listings: name, title, and either the file count and size or "manual download".
    public var summary: String {
        let how: String
        if files.isEmpty {
            how = "manual download"
        } else {
            let bytes = files.compactMap(\.byteCount).reduce(0, +)
            how = "\(files.count) file\(files.count == 1 ? "" : "s")" + (bytes > 0 ? String(format: ", %.1f MB", Double(bytes) / 1e6) : "")
        }
        return "\(name): \(title) (\(how))"
    }
}

/// The datasets `funnel data download` knows by name.
public enum DatasetRegistry {
    public static let all: [RemoteDataset] = [censusIncomeKDD, aliExpress, aliCCP]

    /// The dataset called `name`, if known.
    public static func dataset(named name: String) -> RemoteDataset? { all.first { $0.name == name } }

    /// Census-Income (KDD) from the UCI repository: the MMoE / PLE two-task benchmark.
    public static let censusIncomeKDD = RemoteDataset(
        name: "census-income-kdd",
        title: "Census-Income (KDD), 1994–1995 Current Population Surveys; UCI",
        homepage: URL(string: "https://archive.ics.uci.edu/dataset/117/census+income+kdd")!,
        license: "CC BY 4.0 (cite the UCI Machine Learning Repository)",
        files: [
            RemoteFile(url: URL(string: uciDirectory + "census-income.data.gz")!,
                       sha256: "3a8265c042a3a804761b804e3fbd2b44d26780fc11848cdc499a439b6ec209c2", byteCount: 5_988_689),
            RemoteFile(url: URL(string: uciDirectory + "census-income.test.gz")!,
                       sha256: "9d476164fbf1fdb9c79af8e567da35102f9309dbc1111740a63c07a437b0f034", byteCount: 2_993_062),
        ],
        note: "Checksums are those of the project's reference copies (the test file is byte-identical to the one in "
            + "drawbridge/keras-mmoe); they could not be compared with the live UCI server from the build machine.")

    private static let uciDirectory = "https://archive.ics.uci.edu/ml/machine-learning-databases/census-income-mld/"

    /// AliExpress search logs (click, conversion; 5 countries), as used by AITM / PLE and MTReclib.
    public static let aliExpress = RemoteDataset(
        name: "aliexpress",
        title: "AliExpress search logs, click and conversion (NL, ES, FR, US, RU); Alibaba",
        homepage: URL(string: "https://tianchi.aliyun.com/dataset/74690")!,
        license: "Alibaba Tianchi terms",
        manualDownload: "Log in to Alibaba Tianchi and download the country archives from https://tianchi.aliyun.com/dataset/74690, "
            + "then unpack the train/test CSVs into the target directory. No public direct URL exists.")

    /// Ali-CCP (Taobao click and conversion prediction), the ESMM dataset.
    public static let aliCCP = RemoteDataset(
        name: "ali-ccp",
        title: "Ali-CCP, Taobao click and conversion prediction (ESMM); Alibaba",
        homepage: URL(string: "https://tianchi.aliyun.com/dataset/408")!,
        license: "Alibaba Tianchi terms",
        manualDownload: "Log in to Alibaba Tianchi and download the sample_train / sample_test archives from "
            + "https://tianchi.aliyun.com/dataset/408, then unpack them into the target directory. No public direct URL exists.")
}
