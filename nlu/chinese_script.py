"""Tell Simplified from Traditional Chinese, and Japanese kanji from Chinese.

Small hand-made character tables (no OpenCC dependency): frequent characters
whose simplified and traditional forms differ, and kanji forms that only
Japanese uses (shinjitai differing from both Chinese standards).
"""

from __future__ import annotations

# Pairs "simplified traditional", frequent in questions to a city / library.
_PAIRS = (
    "这這 们們 个個 说說 时時 来來 为為 国國 会會 对對 发發 现現 问問 开開 间間 关關 还還 进進 过過 东東 "
    "车車 长長 门門 见見 书書 学學 话話 请請 让讓 谁誰 认認 识識 语語 读讀 写寫 买買 卖賣 钱錢 银銀 钟鐘 "
    "点點 几幾 吗嗎 么麼 电電 脑腦 网網 图圖 馆館 医醫 药藥 护護 证證 号號 码碼 区區 县縣 办辦 处處 业業 "
    "务務 费費 税稅 险險 员員 单單 样樣 种種 应應 该該 边邊 从從 给給 经經 总總 结結 约約 级級 线線 红紅 "
    "绿綠 练練 习習 飞飛 机機 场場 乐樂 热熱 饭飯 鱼魚 鸟鳥 马馬 龙龍 风風 云雲 气氣 难難 爱愛 听聽 觉覺 "
    "观觀 视視 讲講 课課 试試 题題 顾顧 离離 实實 际際 质質 岁歲 岛島 广廣 历歷 华華 节節 乡鄉 邮郵 杂雜 "
    "转轉 运運 达達 远遠 连連 选選 动動 劳勞 报報 纸紙 纪紀 农農 厅廳 厂廠 产產 亲親 儿兒 压壓 严嚴 卫衛 "
    "众眾 优優 传傳 伤傷 价價 园園 团團 围圍 圣聖 坏壞 声聲 处處 备備 复復 头頭 夺奪 奋奮 妇婦 妈媽 孙孫 "
    "宁寧 宝寶 实實 宽寬 对對 寻尋 导導 层層 岁歲 币幣 师師 帮幫 带帶 广廣 庆慶 库庫 应應 废廢 开開 张張 "
    "弹彈 强強 归歸 录錄 彻徹 忆憶 怀懷 态態 总總 恶惡 悬懸 惊驚 惯慣 战戰 户戶 扫掃 执執 扩擴 扬揚 "
    "担擔 拥擁 择擇 挂掛 换換 据據 损損 摄攝 摆擺 敌敵 数數 断斷 无無 旧舊 昼晝 显顯 晓曉 术術 杀殺 "
    "权權 条條 极極 构構 标標 栏欄 树樹 桥橋 检檢 楼樓 欢歡 残殘 毕畢 气氣 汇匯 汉漢 没沒 沟溝 泪淚 "
    "泽澤 洁潔 济濟 浅淺 测測 满滿 灯燈 灵靈 灾災 烦煩 烧燒 爷爺 状狀 独獨 猎獵 环環 现現 琐瑣 画畫 "
    "疗療 疯瘋 监監 盖蓋 盘盤 确確 礼禮 祸禍 离離 种種 积積 称稱 稳穩 窝窩 筑築 签簽 简簡 类類 "
    "纳納 纵縱 细細 终終 绍紹 组組 织織 给給 统統 继繼 续續 维維 综綜 缘緣 编編 缴繳 罚罰 职職 联聯 "
    "肃肅 胜勝 脏髒 脸臉 艺藝 节節 苏蘇 茧繭 荐薦 获獲 营營 虑慮 补補 装裝 规規 览覽 触觸 "
    "订訂 计計 讨討 让讓 训訓 议議 记記 讯訊 许許 论論 设設 访訪 评評 识識 诉訴 词詞 译譯 试試 诗詩 "
    "诚誠 详詳 误誤 说說 谢謝 谈談 谊誼 调調 负負 账賬 货貨 质質 购購 贴貼 贵貴 贷貸 资資 赏賞 赔賠 "
    "赖賴 赶趕 车車 轨軌 轻輕 载載 较較 辆輛 辑輯 输輸 边邊 这這 迟遲 递遞 逻邏 遗遺 邻鄰 郑鄭 "
    "钥鑰 铁鐵 银銀 错錯 锁鎖 长長 闭閉 问問 闲閒 阅閱 阳陽 阶階 际際 陆陸 险險 随隨 隐隱 难難 "
    "页頁 顶頂 项項 顺順 须須 顾顧 预預 领領 频頻 额額 风風 饮飲 馆館 驾駕 验驗 骗騙 鸡雞 黄黃 齐齊 "
    "龄齡 们們 续續 签簽 处處 摊攤 码碼 寄寄"
)

SIMPLIFIED_ONLY: frozenset[str] = frozenset(p[0] for p in _PAIRS.split() if p[0] != p[1])
TRADITIONAL_ONLY: frozenset[str] = frozenset(p[1] for p in _PAIRS.split() if p[0] != p[1])

#: Kanji written differently in Japanese than in either Chinese standard.
JAPANESE_ONLY_KANJI: frozenset[str] = frozenset(
    "図駅広県転証続売読済険検帰気様変戸齢児労働込畑枠沢浜薬価関発営楽歳対応権拡鉄払伝"
    "戦団囲圧挙浄従剤隣覧恵瀬鋭緑黙塩継総縦粋稲"
)


def is_han(ch: str) -> bool:
    """True for a CJK unified ideograph (incl. extension A and compatibility forms)."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def chinese_variant_votes(text: str) -> tuple[int, int]:
    """Count (simplified-only, traditional-only) characters in ``text``."""
    simplified = sum(1 for ch in text if ch in SIMPLIFIED_ONLY)
    traditional = sum(1 for ch in text if ch in TRADITIONAL_ONLY)
    return simplified, traditional


def japanese_kanji_votes(text: str) -> int:
    """Count kanji that are written this way only in Japanese."""
    return sum(1 for ch in text if ch in JAPANESE_ONLY_KANJI)
