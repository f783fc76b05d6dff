"""Name packs (`@country:KP`), inflected forms and names inside runs of Han/Kana/Hangul.

The acceptance inputs are plain .txt files in tests/data/matching/kp_ru/, given to
`newswatch rules test` as a user would: `match_*.txt` must hit `@country:KP NEAR/30
@country:RU`, `no_match_*.txt` (South Korea, Russia alone, North Korea alone) must not.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from config.models import AliasGroup, RuleConfig
from matching import MatchInput, QueryError, compile_rules
from matching.compiler import read_entry
from matching.namepacks import load_pack
from matching.packs import build_country_pack as build
from tests.conftest import write_config
from tests.rules_support import run_cli

INPUTS = Path(__file__).parent / "data" / "matching" / "kp_ru"
RULES = "rules:\n  - name: KP-RU\n    query: '@country:KP NEAR/30 @country:RU'\n"


def matches(query: str, text: str, aliases: dict[str, AliasGroup] | None = None) -> bool:
    ruleset = compile_rules([RuleConfig(name="r", query=query)], aliases or {})
    return bool(ruleset.match(MatchInput(title="", body=text)))


def rules_test(tmp_path, capsys, files: list[Path]) -> dict[str, list[dict]]:
    config = write_config(tmp_path / "config", feeds=[], rules=RULES)
    code, out, err = run_cli(capsys, "rules", "test", "--config", str(config), "--json", *map(str, files))
    assert code == 0, err
    return {Path(result["input"]).name: result["matches"] for result in json.loads(out)}


def test_kp_near_ru_matches_news_in_every_language_given_as_txt(tmp_path, capsys):
    files = sorted(INPUTS.glob("match_*.txt"))
    assert len(files) >= 15
    results = rules_test(tmp_path, capsys, files)
    missed = [name for name, found in results.items() if not found]
    assert missed == []
    terms = {name: found[0]["terms"] for name, found in results.items()}
    assert set(terms["match_ru.txt"]) >= {"Северной Кореи", "России"}
    assert "Rosji" in terms["match_pl.txt"] and "Korei Północnej" in terms["match_pl.txt"]
    assert "Nordkoreas" in terms["match_de_genitive.txt"] and "Russlands" in terms["match_de_genitive.txt"]
    assert set(terms["match_zh_hans_adjacent.txt"]) == {"朝鲜", "俄罗斯"}
    assert set(terms["match_ja.txt"]) == {"北朝鮮", "ロシア"}


def test_kp_near_ru_matches_no_south_korea_and_neither_country_alone(tmp_path, capsys):
    files = sorted(INPUTS.glob("no_match_*.txt"))
    assert len(files) >= 6
    results = rules_test(tmp_path, capsys, files)
    assert {name: found for name, found in results.items() if found} == {}
    # each negative holds one side of the rule, so the test cannot pass for lack of text
    for name in ("no_match_south_korea_ko.txt", "no_match_russia_only.txt"):
        assert matches("@country:RU", (INPUTS / name).read_text())
    assert matches("@country:KP", (INPUTS / "no_match_north_korea_only.txt").read_text())
    assert matches("@country:KR", (INPUTS / "no_match_south_korea_zh_hant.txt").read_text())


def test_south_korea_in_amharic_assamese_and_arabic_does_not_match_north_korea(tmp_path, capsys):
    # Ge'ez's CLDR names North Korea "ደቡብ፡ኮሪያ" (South Korea), Assamese's translation gives
    # it a misspelt South Korea: both used to match these lines
    files = sorted(INPUTS.glob("no_match_south_korea_a*.txt"))
    assert [file.name for file in files] == [f"no_match_south_korea_{code}.txt" for code in ("am", "ar", "as")]
    config = write_config(tmp_path / "config", feeds=[], rules="rules:\n  - name: KP\n    query: '@country:KP'\n")
    code, out, err = run_cli(capsys, "rules", "test", "--config", str(config), "--json", *map(str, files))
    assert code == 0, err
    assert {Path(result["input"]).name: result["matches"] for result in json.loads(out)} == {file.name: [] for file in files}
    texts = {file.name: file.read_text() for file in files}
    assert matches("@country:KR", texts["no_match_south_korea_am.txt"]) and matches("@country:KR", texts["no_match_south_korea_ar.txt"])
    assert matches('"দক্ষিন কোৰিয়া"', texts["no_match_south_korea_as.txt"])  # the name it was given for KP
    assert matches("@country:KP", "ሰሜን ኮሪያ ሚሳኤል አስወነጨፈች።")  # Amharic's North Korea stays


def test_explain_lists_kp_names_per_language(tmp_path, capsys):
    config = write_config(tmp_path / "config", feeds=[], rules=RULES)
    code, out, err = run_cli(capsys, "rules", "explain", "--config", str(config), "--json", "@country:KP")
    assert code == 0, err
    data = json.loads(out)
    names = {name for found in data["languages"].values() for name in found}
    assert {"북한", "조선민주주의인민공화국", "北朝鮮", "朝鲜", "北韓", "КНДР", "Nordkorea", "DPRK"} <= names
    assert data["language_count"] >= 30 and data["reference"] == "@country:KP"
    assert "Северная Корея" in data["languages"]["ru"]
    assert "кореи" in data["forms"]["корея"]
    code, out, _ = run_cli(capsys, "rules", "explain", "--config", str(config), "@country:kp")
    assert code == 0 and out.startswith("@country:KP: ") and "\n  ko: " in out and "북한" in out


def test_explain_of_an_unknown_pack_or_key_says_what_to_write(tmp_path, capsys):
    config = write_config(tmp_path / "config", feeds=[], rules=RULES)
    code, out, err = run_cli(capsys, "rules", "explain", "--config", str(config), "@country:ZZ")
    assert code == 1 and out == "" and "has no key 'ZZ'" in err and "@country:KP" in err
    code, _, err = run_cli(capsys, "rules", "explain", "--config", str(config), "@brand:acme")
    assert code == 1 and "define an alias named 'brand:acme' under aliases:" in err


def test_explain_and_rules_take_the_users_own_names_and_packs(tmp_path, capsys):
    rules = ("aliases:\n  country:KP:\n    - the Hermit Kingdom\n  company:acme:\n    - Acme Corp\n    - 아크메\n"
             "rules:\n  - name: r\n    query: '@country:KP OR @company:acme'\n")
    config = write_config(tmp_path / "config", feeds=[], rules=rules)
    code, out, err = run_cli(capsys, "rules", "explain", "--config", str(config), "--json", "@country:KP")
    assert code == 0, err
    assert json.loads(out)["custom"] == ["the Hermit Kingdom"]
    code, out, err = run_cli(capsys, "rules", "explain", "--config", str(config), "--json", "@company:acme")
    assert json.loads(out)["custom"] == ["Acme Corp", "아크메"]
    code, out, err = run_cli(capsys, "rules", "explain", "--config", str(config), "@company:acme")
    assert code == 0 and out.startswith("@company:acme: 2 names (an alias of rules.yaml)\n"), out
    assert "0 languages" not in out
    aliases = {"country:KP": AliasGroup("country:KP", ("the Hermit Kingdom",)), "company:acme": AliasGroup("company:acme", ("Acme Corp",))}
    assert matches("@country:KP", "Trade with the hermit kingdom resumed.", aliases)
    assert matches("@company:acme", "Shares of ACME corp fell.", aliases)


def test_the_users_own_names_for_a_pack_entry_are_part_of_the_rules_version():
    from config.loader import rule_content_hash

    plain = rule_content_hash("@country:KP NEAR/30 @country:RU", [], [], {})
    added = rule_content_hash("@country:KP NEAR/30 @country:RU", [], [],
                              {"country:KP": AliasGroup("country:KP", ("the Hermit Kingdom",))})
    assert plain != added


@pytest.mark.parametrize("query, message", [
    ("@country:XX", "has no key 'XX'"),
    ("@planet:mars", "unknown pack @planet"),
])
def test_unknown_pack_or_key_is_a_query_error_that_says_what_to_write(query, message):
    with pytest.raises(QueryError) as caught:
        compile_rules([RuleConfig(name="r", query=query)], {})
    assert message in str(caught.value) and caught.value.column == 1


def test_unquoted_names_match_inflected_forms_and_quoted_ones_only_as_written():
    assert matches("Россия", "Поставки в Россию идут по железной дороге.")
    assert matches("@country:RU", "Поставки в Россию идут по железной дороге.")
    assert matches("@country:KP", "Die Waffenlieferungen Nordkoreas nehmen zu.")
    assert not matches('"Россия"', "Поставки в Россию идут по железной дороге.")
    assert matches('"Россия"', "Россия и Китай.")
    assert matches("@country:PL", "Pociski trafiły do Polski.")  # pl: Polska -> Polski
    assert matches("@country:UA", "Удари по Україні тривають.")  # uk: Україна -> Україні
    assert not matches("@country:CN", "He rubbed his chin.")  # pl "Chin" (of Chiny) is an English word


def test_function_words_inside_pack_names_match_any_one_word():
    assert matches("@country:BA", "Wizyta w Bośni i Hercegowinie")  # pl, declined around "i"
    assert matches("@country:BA", "Troops left Bosnia and Herzegovina in 2004.")
    assert matches("@country:CD", "Fighting in the east of the Democratic Republic of the Congo")
    assert not matches("@country:CD", "Democratic Republic")


def test_names_inside_runs_of_han_and_kana_are_words_at_their_positions():
    assert matches("朝鲜 NEAR/1 俄罗斯", "朝鲜向俄罗斯提供武器")
    assert matches('"朝鲜 俄罗斯"', "朝鲜俄罗斯军事合作")
    assert not matches("朝鲜 NEAR/1 武器", "朝鲜向俄罗斯提供武器")  # 向俄, 罗斯 and 提供 lie between
    assert matches("朝鲜 NEAR/3 武器", "朝鲜向俄罗斯提供武器")
    assert matches("北朝鮮 NEAR/2 ロシア", "北朝鮮がロシアに砲弾を供与")
    # substrings keep working, also where query words overlap inside a run
    assert matches("북한", "북한의 미사일") and matches("朝鲜 AND 北朝鲜", "北朝鲜的导弹")


def test_shipped_pack_leaves_out_inverted_ambiguous_and_shared_names():
    pack = load_pack("country")
    names = {code: pack.names_of(code) for code in pack.names}
    every = [(code, language, name) for code, by in names.items() for language, found in by.items() for name in found]
    assert not [entry for entry in every if ", " in entry[2] or " - " in entry[2]]
    assert "Chad" not in names["TD"].get("en", []) and "Jordan" not in names["JO"].get("en", [])
    assert "조선" not in names["KP"].get("ko", []) and "Korea" not in names["KR"].get("en", [])
    # the generic part of North and South Korea's names belongs to neither
    bare = {"korea", "корея", "corea", "kore", "korėja"}
    assert not [(code, language, name) for code, language, name in every
                if code in ("KP", "KR") and name.casefold() in bare]
    assert "Sudan" in names["SD"]["en"]  # CLDR's own name stays, though "South Sudan" holds it
    owners: dict[tuple[str, str], set[str]] = {}
    for code, language, name in every:
        owners.setdefault((language, name.casefold()), set()).add(code)
    assert [key for key, codes in owners.items() if len(codes) > 1] == []
    for _, _, name in every:
        read_entry(name)  # every name is a word or phrase the matcher reads


def test_shipped_pack_leaves_out_names_of_other_countries_and_garbled_ones():
    pack = load_pack("country")
    kp = pack.names_of("KP")
    every = [name for code in pack.names for found in pack.names_of(code).values() for name in found]
    assert "gez" not in kp and "দক্ষিন কোৰিয়া" not in kp["as"] and kp["am"] == ["ሰሜን ኮሪያ"]
    assert "উত্তৰ কোৰিয়া" in kp["as"] and "كوريا الشمالية" in kp["ar"]
    assert not [name for name in every if any(comma in name for comma in ",،、，")]
    assert not [name for name in every if build.is_garbled(name)]
    # a name most sources give one country stays with it
    assert "Samoa" in pack.names_of("WS")["en"] and "México" in pack.names_of("MX")["es"]
    assert "Sudan" in pack.names_of("SD")["en"] and "South Sudan" in pack.names_of("SS")["en"]


def test_a_name_of_another_country_stays_only_with_the_country_most_sources_give_it_to():
    def names(entries):
        found = defaultdict(lambda: defaultdict(set))
        for code, language, name in entries:
            found[code][language].add(name)
        return found
    cldr = {("KP", "am", "ሰሜን ኮሪያ"), ("KP", "gez", "ደቡብ፡ኮሪያ"), ("KR", "am", "ደቡብ ኮሪያ"), ("KR", "gez", "ሰሜን፡ኮሪያ"),
            ("KP", "tig", "ሰሜን ኮሪያ"), ("KR", "tig", "ደቡብ ኮሪያ"), ("CD", "x", "Kongo"), ("CG", "y", "Kongo")}
    found = names([*cldr, ("WS", "en", "Samoa"), ("WS", "de", "Samoa"), ("AS", "fo", "Samoa")])
    build.drop_other_countries_names(found, cldr)
    assert found["KP"] == {"am": {"ሰሜን ኮሪያ"}, "tig": {"ሰሜን ኮሪያ"}, "gez": set()} and found["KR"]["gez"] == set()
    assert found["KR"]["am"] == {"ደቡብ ኮሪያ"} and found["CD"]["x"] == found["CG"]["y"] == set()
    assert found["WS"]["en"] == {"Samoa"} and found["AS"]["fo"] == set()
    cldr = {("KP", "as", "উত্তৰ কোৰিয়া"), ("KR", "as", "দক্ষিণ কোৰিয়া"), ("GM", "as", "গাম্বিয়া"), ("ZM", "as", "জাম্বিয়া")}
    found = names([*cldr, ("KP", "as", "দক্ষিন কোৰিয়া"), ("GM", "as", "গাম্বিয়া প্ৰজাতন্ত্ৰ"), ("ZM", "as", "জাম্বিয়া প্ৰজাতন্ত্ৰ")])
    build.drop_lookalikes(found, cldr)
    assert found["KP"]["as"] == {"উত্তৰ কোৰিয়া"} and len(found["GM"]["as"]) == len(found["ZM"]["as"]) == 2


def test_filters_of_the_pack_builder():
    assert build.split_name("Korea, Democratic People's Republic of") == []
    assert build.split_name("Korea - Republika Ludowo-Demokratyczna") == []
    assert build.split_name("Корея (Солтүстік)") == [] and build.split_name("Myanmar (Burma)") == []
    assert build.split_name("Severní  Korea") == ["Severní Korea"]
    assert not build.is_kept("Chad", "en", frozenset())
    assert not build.is_kept("조선", "ko", frozenset())
    assert build.is_kept("북한", "ko", frozenset()) and build.is_kept("DPRK", "en", frozenset({"DPRK"}))
    assert not build.is_kept("US", "en", frozenset())
    assert build.language_of("zh_Hant_HK") == "zh-Hant" and build.language_of("zh_CN") == "zh-Hans"
    assert build.language_of("sr@latin") == "sr-Latn" and build.language_of("en_Dsrt") == "en-Dsrt"
    assert build.split_name("كوريا، جمهورية كوريا الشّعبيّة الدّيموقراطيّة") == []
    assert build.split_name("波内赫、圣尤斯特歇斯及萨巴") == [] and build.split_name("Liechtenstein,") == []
    assert build.split_name("፠ቡብ ጥሱ።") == [] and build.split_name("संयुक्त राज्य:") == []
    assert build.split_name("ሰሜን ኮሪያ") == ["ሰሜን ኮሪያ"] and build.split_name("S:t Barthélemy") == ["S:t Barthélemy"]
    assert build.one_letter_apart("দক্ষিন কোৰিয়া", "দক্ষিণ কোৰিয়া") and not build.one_letter_apart("gambia", "zimbabwe")
    assert build.keep_form("кореи", set(), set()) and not build.keep_form("chin", {"chin"}, set())
