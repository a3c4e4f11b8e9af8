import Evaluator
import PolicyLang
import Testing

@Suite struct ExitStatusTests {
    @Test(arguments: [
        (BlockReason.health, Int32(3)), (.lock, 4), (.killSwitch, 5), (.detectorError, 6), (.window, 7), (.rule, 8),
    ])
    func blockedDecisionsUseTheDesignCodes(_ reason: BlockReason, _ code: Int32) {
        #expect(ExitStatus.of(.blocked, blockedBy: reason) == code)
    }

    @Test func unblockedDecisionsExitZero() {
        #expect(ExitStatus.of(.reboot, blockedBy: nil) == 0)
        #expect(ExitStatus.of(.noRebootNeeded, blockedBy: nil) == 0)
    }
}
