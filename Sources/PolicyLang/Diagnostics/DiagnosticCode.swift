/// Every diagnostic rc can emit, with a stable code.
///
/// `RC1xxx` come from reading the text (lexer and parser), `RC2xxx` from checking meaning and types,
/// `RC3xxx` are lints (warnings), `RC4xxx` come from YAML and JSON inputs (`rc import` configurations and
/// facts files). Each one is documented with a bad
/// example and its fix in `docs/diagnostics.md`; codes are never reused.
public enum DiagnosticCode: String, Sendable, CaseIterable, Hashable {
    // Lexer and parser.
    case invalidUTF8 = "RC1001"
    case unexpectedCharacter = "RC1002"
    case unterminatedString = "RC1003"
    case invalidEscape = "RC1004"
    case unterminatedRegex = "RC1005"
    case invalidLiteral = "RC1006"
    case unexpectedToken = "RC1010"
    case unknownDeclaration = "RC1011"
    case unclosedDelimiter = "RC1012"
    case nestingTooDeep = "RC1013"
    case unknownWeekday = "RC1014"
    case unknownDetectorKind = "RC1015"
    case invalidInterpolation = "RC1016"
    case expressionTooLong = "RC1017"
    case tooManyDiagnostics = "RC1018"
    case spacedDurationUnit = "RC1019"
    case ifForWhen = "RC1020"
    case hyphenatedName = "RC1021"
    case hyphenRange = "RC1022"
    case unclosedRegexClass = "RC1023"
    case fractionTimesCount = "RC1024"

    // Checker.
    case unknownName = "RC2001"
    case typeMismatch = "RC2002"
    case wrongArity = "RC2003"
    case unknownFunction = "RC2004"
    case duplicateName = "RC2005"
    case invalidRegex = "RC2006"
    case unknownTimeZone = "RC2007"
    case emptyWindow = "RC2008"
    case ttlTooShort = "RC2009"
    case unknownTestReference = "RC2010"
    case missingPolicy = "RC2011"
    case duplicateDeclaration = "RC2012"
    case unknownField = "RC2013"
    case missingField = "RC2014"
    case invalidValue = "RC2015"
    case duplicateField = "RC2016"
    case unknownInterpolation = "RC2017"
    case endDayWithManyStartDays = "RC2018"
    case relativePath = "RC2019"
    case duplicateExpectation = "RC2040"
    case impossibleGiven = "RC2041"
    case invalidDate = "RC2020"
    case invalidOrdinal = "RC2021"
    case backwardsDates = "RC2022"
    case windowTimesDoNotFit = "RC2023"
    case invalidHealthEndpoint = "RC2030"
    case caWithoutTLS = "RC2031"
    case headerToken = "RC2032"
    case givenNotMeasured = "RC2033"
    case healthVariableClash = "RC2034"

    // Lints.
    case noDetectors = "RC3001"
    case plaintextEtcd = "RC3002"
    case insecureSkipVerify = "RC3003"
    case neverEligible = "RC3004"
    case overlappingWindows = "RC3005"
    case allowWindowDenied = "RC3006"
    case constantRule = "RC3007"
    case shadowedRule = "RC3008"
    case impossibleThreshold = "RC3009"
    case overlappingDetectorConditions = "RC3010"
    case windowWrapsWeek = "RC3011"
    case detectorWithoutTimeout = "RC3012"
    case noPostLockHealth = "RC3013"
    case noKillSwitch = "RC3014"
    case unusedWindow = "RC3015"
    case unusedDetector = "RC3016"
    case redundantTest = "RC3017"
    case overlappingPolicies = "RC3018"
    case suppressionWithoutReason = "RC3019"
    case unusedSuppression = "RC3020"
    case windowInThePast = "RC3050"

    // Import.
    case importSyntax = "RC4001"
    case importUnknownField = "RC4002"
    case importInvalidValue = "RC4003"
    case importMissingField = "RC4004"
    case labelsSyntax = "RC4005"
    case importAdjusted = "RC4006"
    case lintConfiguration = "RC4007"

    /// The severity diagnostics with this code have unless said otherwise.
    public var defaultSeverity: Severity {
        if self == .tooManyDiagnostics { return .note }
        if self == .importAdjusted { return .warning }
        if [.noKillSwitch, .noPostLockHealth, .detectorWithoutTimeout].contains(self) { return .note }
        return rawValue.hasPrefix("RC3") ? .warning : .error
    }

    /// The lint's name, for `.rc-lint.yaml` and `# rc:ignore` (either the code or the name may be written);
    /// `nil` for a code that is not a lint.
    public var lintName: String? {
        switch self {
        case .noDetectors: "no-detectors"
        case .plaintextEtcd: "plaintext-etcd"
        case .insecureSkipVerify: "insecure-skip-verify"
        case .neverEligible: "never-eligible"
        case .overlappingWindows: "overlapping-windows"
        case .allowWindowDenied: "allow-window-denied"
        case .constantRule: "constant-rule"
        case .shadowedRule: "shadowed-rule"
        case .impossibleThreshold: "impossible-threshold"
        case .overlappingDetectorConditions: "overlapping-detector-conditions"
        case .windowWrapsWeek: "window-wraps-week"
        case .detectorWithoutTimeout: "detector-without-timeout"
        case .noPostLockHealth: "no-post-lock-health"
        case .noKillSwitch: "no-kill-switch"
        case .unusedWindow: "unused-window"
        case .unusedDetector: "unused-detector"
        case .redundantTest: "redundant-test"
        case .overlappingPolicies: "overlapping-policies"
        case .suppressionWithoutReason: "suppression-without-reason"
        case .unusedSuppression: "unused-suppression"
        case .windowInThePast: "window-in-the-past"
        default: nil
        }
    }

    /// Every lint, in code order.
    public static var lints: [DiagnosticCode] { allCases.filter { $0.lintName != nil } }

    /// The lint written as a code (`RC3004`) or a name (`never-eligible`).
    public init?(lint: String) {
        guard let code = DiagnosticCode.lints.first(where: { $0.rawValue == lint.uppercased() || $0.lintName == lint }) else { return nil }
        self = code
    }

    /// A short title, used as the rule description in SARIF output and in the docs.
    public var title: String {
        switch self {
        case .invalidUTF8: "the file is not valid UTF-8"
        case .unexpectedCharacter: "a character that cannot start any token"
        case .unterminatedString: "a string literal is not closed on its line"
        case .invalidEscape: "an unknown escape sequence in a string"
        case .unterminatedRegex: "a regex literal is not closed on its line"
        case .invalidLiteral: "a malformed number, duration, percentage, time or instant"
        case .unexpectedToken: "the parser expected something else here"
        case .unknownDeclaration: "an unknown top-level declaration"
        case .unclosedDelimiter: "a bracket, brace or parenthesis is never closed"
        case .nestingTooDeep: "an expression or block is nested too deeply"
        case .unknownWeekday: "an unknown day in a window"
        case .unknownDetectorKind: "an unknown detector kind"
        case .invalidInterpolation: "a malformed `${…}` interpolation"
        case .tooManyDiagnostics: "more diagnostics than are shown for one file"
        case .expressionTooLong: "an expression is too long: a chain of more operators than rc evaluates"
        case .spacedDurationUnit: "a duration's unit is separated from its number by a space"
        case .ifForWhen: "`if` where the language writes `when`"
        case .hyphenatedName: "a field or declaration name written with `-` instead of `_`"
        case .hyphenRange: "a range of days or times written with `-` instead of `..`"
        case .unclosedRegexClass: "a `[` character class in a regex is never closed"
        case .fractionTimesCount: "a fraction multiplied by a count, where the language writes a percentage"
        case .unknownName: "a name that is not a known fact or variable"
        case .typeMismatch: "a value of the wrong type"
        case .wrongArity: "a function called with the wrong number of arguments"
        case .unknownFunction: "a call to an unknown function"
        case .duplicateName: "two declarations of the same kind share a name"
        case .invalidRegex: "a regex literal that PCRE2 cannot compile"
        case .unknownTimeZone: "a time zone that is not in the time zone database"
        case .emptyWindow: "a window that covers no time at all"
        case .ttlTooShort: "the lock TTL is not longer than the longest health check timeout"
        case .unknownTestReference: "a test names a detector, window, rule or health check that does not exist"
        case .missingPolicy: "the file has no `policy` declaration"
        case .duplicateDeclaration: "a declaration that may appear once appears twice"
        case .unknownField: "an unknown field in a block"
        case .missingField: "a required field is missing"
        case .invalidValue: "a value outside its allowed range"
        case .duplicateField: "a field is given twice in one block"
        case .unknownInterpolation: "an interpolation names something that is not known"
        case .endDayWithManyStartDays: "a window with an end day must have exactly one start day"
        case .relativePath: "a path that must be absolute is relative"
        case .duplicateExpectation: "a test has more than one `expect`"
        case .impossibleGiven: "a test gives facts that no live node can have"
        case .invalidHealthEndpoint: "a health check's endpoint is not an http:// or https:// URL that rc can use as written"
        case .caWithoutTLS: "a health check's `ca` with an endpoint that is plain http"
        case .headerToken: "a header without exactly one source for its value (`token_env` or `token_file`)"
        case .givenNotMeasured: "a test gives a health check a value that the check does not measure"
        case .healthVariableClash: "two measuring health checks whose names give scripts the same `RC_HEALTH_<NAME>_VALUE`"
        case .noDetectors: "the policy has no detectors, so it never reboots"
        case .plaintextEtcd: "an etcd endpoint without TLS"
        case .insecureSkipVerify: "TLS certificate verification is turned off"
        case .neverEligible: "no instant is ever eligible for a reboot: the windows or a rule always block"
        case .overlappingWindows: "two windows of the same kind overlap or repeat each other"
        case .allowWindowDenied: "an allow window lies entirely inside deny windows, so it never opens"
        case .constantRule: "a rule whose condition is the same whatever the facts"
        case .shadowedRule: "a rule that can only hold when an earlier rule already blocks"
        case .impossibleThreshold: "a comparison that always or never holds, or a percentage of a count outside 0–100%"
        case .overlappingDetectorConditions: "a command detector's `reboot_when` and `ok_when` can both hold"
        case .windowWrapsWeek: "a window that wraps almost a whole week, usually a start and end written the wrong way round"
        case .detectorWithoutTimeout: "a command detector without a `timeout`"
        case .noPostLockHealth: "a lock shared by several nodes but no health gate that runs under it"
        case .noKillSwitch: "the policy has no kill switch"
        case .unusedWindow: "a window that changes no instant's eligibility"
        case .unusedDetector: "a detector that can never fire, or repeats another one"
        case .redundantTest: "a test that gives the same facts and expects the same as another"
        case .overlappingPolicies: "two policies of one directory govern the same node"
        case .suppressionWithoutReason: "an `rc:ignore` comment without a reason"
        case .unusedSuppression: "an `rc:ignore` comment that suppresses nothing"
        case .lintConfiguration: "an invalid `.rc-lint.yaml`"
        case .invalidDate: "a date that no calendar has (`Feb 30`, `day 32`)"
        case .invalidOrdinal: "a weekday's place in the month that not every month has (`5th Tue`)"
        case .backwardsDates: "a range of dates or days that ends before it starts"
        case .windowTimesDoNotFit: "a window's dates, days and times do not fit together"
        case .windowInThePast: "a one-off window that is over, so it never acts again"
        case .importSyntax: "the input is not valid YAML or JSON"
        case .importUnknownField: "an unknown field in the input, or a name the policy does not have"
        case .importInvalidValue: "a value of the wrong type or out of range"
        case .importMissingField: "a required field is missing, or the input is empty"
        case .labelsSyntax: "a labels file line that is not KEY=VALUE, a bad key, or a key given twice"
        case .importAdjusted: "an imported setting that rc writes differently, or that clusterrebootd required and rc does without"
        }
    }
}
