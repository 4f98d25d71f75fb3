package io.lgtmp.demo;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** GET / POST /admin/faults (docs/fault-switches.md); other methods answer 405 ({@link ApiErrors}). */
@RestController
public class FaultsController {

    private final Faults faults;
    private final EmailChecker emailChecker;

    public FaultsController(Faults faults, EmailChecker emailChecker) {
        this.faults = faults;
        this.emailChecker = emailChecker;
    }

    @GetMapping("/admin/faults")
    public Map<String, Object> get() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("faults", faults.document());
        doc.put("regex_mode", emailChecker.mode().id());
        return doc;
    }

    @PostMapping("/admin/faults")
    public Map<String, Object> post(@RequestBody(required = false) String body) {
        faults.apply(body);
        return get();
    }
}
